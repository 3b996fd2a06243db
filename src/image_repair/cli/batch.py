"""``image-repair repair --batch FILE`` and ``--all-at-risk``: many images at once, on the pool of
repair hosts (docs/pool.md).

The images: FILE (one image id a line, ``#`` comments and blank lines ignored, or a JSON list),
or every image the sweep finds at risk (its dry run: the same policy, nothing started). The start
parameters are the command's options, as for one image, with ``pool: true`` unless ``--params``
says otherwise. Every image is validated before any is recorded (launchers.start_batch: one bad id
refuses the whole batch, naming it); then the executions run side by side on this machine, each
on its own thread with the command's flow clock, and one line per image says how it ended.
Exit status 0 when every image was repaired (or had been), 1 otherwise, 2 for a bad batch.
"""
import json
import sys
import threading
from typing import List

from ..control.launchers import MAX_BATCH, start_batch
from ..control.local_run import import_steps, run_execution
from ..control.models import InvalidRequest
from ..control.store import ExecutionStatus
from ..control.triggers.sweep import SweepPolicy, sweep
from . import args as cli_args
from .args import progress
from .cloud_target import cloud_target, open_command_store
from .execution import command_ports, request_from_args

MAX_BATCH_FILE = 64 * 1024      # 100 ids of at most 64 characters, with room for comments


class Recorded:
    """A launcher that only remembers which executions start_batch recorded as new: this
    command runs them itself, all at once (a LocalLauncher would run them one after another)."""
    idempotent = False

    def __init__(self):
        self.ids: List[str] = []

    def launch(self, execution_id: str) -> bool:
        self.ids.append(execution_id)
        return True


def read_batch_file(path: str) -> List[str]:
    """The image ids in ``path`` (UsageError: unreadable, too big, empty, over MAX_BATCH)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BATCH_FILE + 1)
    except OSError as error:
        raise cli_args.UsageError("--batch %s: %s" % (path, error.strerror or error))
    if len(data) > MAX_BATCH_FILE:
        raise cli_args.UsageError("--batch %s: more than %d bytes" % (path, MAX_BATCH_FILE))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise cli_args.UsageError("--batch %s: not UTF-8 text" % path)
    if text.lstrip().startswith("["):
        try:
            ids = json.loads(text)
        except ValueError as error:
            raise cli_args.UsageError("--batch %s: not a JSON list: %s" % (path, error))
        if not all(isinstance(i, str) for i in ids):
            raise cli_args.UsageError("--batch %s: the JSON list must hold image ids (strings)" % path)
    else:
        ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        ids = [i for i in ids if i]
    if not 1 <= len(ids) <= MAX_BATCH:
        raise cli_args.UsageError("--batch %s: %d image ids, expected 1-%d" % (path, len(ids), MAX_BATCH))
    return ids


def images_at_risk(target, store) -> List[str]:
    """The images the sweep would start (its dry run, default policy), at most MAX_BATCH."""
    report = sweep(target.ecs, store, None, SweepPolicy(), dry_run=True, max_starts=MAX_BATCH, defaults=target.defaults)
    return [d.imageId for d in report.needRepair if d.action == "would_start"][:MAX_BATCH]


def run_batch(args) -> int:
    target = cloud_target(args.settings, args.endpoint, args.regionId)
    store = open_command_store(args.settings, target)
    try:
        ids = read_batch_file(args.batch) if args.batch else images_at_risk(target, store)
        if not ids:
            progress("no image needs a repair: nothing to start")
            return 0
        raw = request_from_args(args, target.defaults)
        raw.pop("repairImageId", None)
        raw.setdefault("pool", True)
        launcher = Recorded()
        try:
            batch = start_batch(store, launcher, dict(raw, repairImageIds=ids), max_starts=MAX_BATCH)
        except InvalidRequest as error:
            return cli_args.fail("repair", str(error))
        ports = command_ports(args.settings, store, target.ecs, target.clock)
        runnable = launcher.ids + [one.execution_id for one in batch.started
                                   if not one.created and one.status == ExecutionStatus.RUNNING.value]
        progress("%d images: %d to run, %d already ran" % (len(ids), len(runnable), len(batch.started) - len(runnable)))
        run_side_by_side(ports, runnable, target.clock)
        return report(store, [one.execution_id for one in batch.started], args.json)
    finally:
        store.close()


def run_side_by_side(ports, execution_ids: List[str], clock) -> None:
    """Each execution to its end on its own thread (a thread's failure is its execution's: the
    flow runner records it; a crash here is reported and leaves the execution RUNNING, resumable)."""
    def one(execution_id: str) -> None:
        try:
            run_execution(ports, execution_id, clock=clock)
        except Exception as error:     # reported per image; the others go on
            progress("execution %s stopped: %s (the same command resumes it)" % (execution_id, error))
    import_steps()                       # before the threads: none imports a step half-initialised
    threads = [threading.Thread(target=one, args=(i,), name="repair-" + i, daemon=True) for i in execution_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def report(store, execution_ids: List[str], as_json: bool) -> int:
    executions = [store.get_execution(i) for i in execution_ids]
    if as_json:
        sys.stdout.write(json.dumps([{"executionId": e.execution_id, "sourceImageId": e.source_image_id,
                                      "status": e.status.value, "newImageId": (e.report or {}).get("newImageId"),
                                      "error": e.error} for e in executions], indent=2) + "\n")
    else:
        for e in executions:
            sys.stdout.write("%s\t%s\t%s\t%s\n" % (e.source_image_id, e.status.value,
                                                   (e.report or {}).get("newImageId") or "-", e.execution_id))
    return 0 if all(e.status == ExecutionStatus.SUCCEEDED for e in executions) else 1
