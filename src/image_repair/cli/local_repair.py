"""``image-repair repair --image-file FILE``: one repair on an in-process local cloud.

What a user can count on (local_session.py does the files and processes):

* FILE is only read, and ``--output`` is checked before any work (outputs.py): never FILE itself
  (same device and inode), never an existing file unless ``--force``, in a folder that exists;
  it is written atomically at the end.
* The same unchanged FILE with the same parameters is one execution. Run again once it finished,
  the command shows its result; with ``--output`` it writes the new image's disk file, kept in
  ``CLOUD_DIR/images/<execution id>.img``, if that file is still there and unchanged (else it says
  so and exits 1). ``--retry N`` repairs again as a new execution.
* Two commands on one execution at once: the second refuses (exit 2), naming the first's process.
* A run stopped midway (Ctrl-C, SIGTERM, an exception) cleans its files on the way out and
  records the execution FAILED with code ``Interrupted``; a run killed outright (SIGKILL, a power
  cut) leaves it RUNNING and its files behind until the next local-cloud command, which cleans
  them (``image-repair status`` says so). Either way nothing of that run can resume (its cloud
  lived in its process), so the same command starts the repair over, as the next retry number.
"""
import fcntl
import os
from pathlib import Path
from typing import Optional, Tuple

from .args import UsageError, time_scale_of
from .local_session import LocalSession, lock_is_free, progress
from .outputs import OutputFile

LOCAL_RUN = "cli.localRun"      # the execution's record of its local run (dotted: not a flow step)
INTERRUPTED = "Interrupted"
LOCKS = "locks"


def run_on_local_cloud(args) -> int:
    from ..control.models import InvalidRequest
    from .repair import request_from_args
    output = OutputFile.check(args.output, args.force, inputs=[args.image_file]) if args.output else None
    with LocalSession(args.cloud_dir, args.image_file, args.platform, time_scale_of(args), args.settings) as session:
        raw = dict(request_from_args(args, session.defaults()), repairImageId=session.image_id)
        try:
            raw["retry"], lock = claim_execution(session, raw)
        except InvalidRequest as error:
            raise UsageError(str(error))
        try:
            return repair_on(session, args, raw, output)
        finally:
            os.close(lock)


def claim_execution(session: LocalSession, raw: dict) -> Tuple[int, int]:
    """The retry number this command runs or shows, with its execution's lock held (an open
    descriptor). An execution another command runs now: Busy. One left RUNNING by a dead
    process is recorded Interrupted; an Interrupted one moves on to the next retry number."""
    from ..control.models import parse_request
    from ..control.store import ExecutionStatus
    retry = int(raw.get("retry") or 0)
    while True:
        execution_id = parse_request(dict(raw, retry=retry)).execution_id()    # InvalidRequest past 99
        lock_file = session.cloud_dir / LOCKS / (execution_id + ".lock")
        lock = take_execution_lock(lock_file, execution_id)
        execution = session.store.get_execution(execution_id)
        if execution is not None and execution.status == ExecutionStatus.RUNNING:
            running = running_elsewhere(execution, str(lock_file))
            if running:
                os.close(lock)
                raise UsageError(running)
            mark_interrupted(session.store, execution_id, "its local-cloud process stopped before the end")
            execution = session.store.get_execution(execution_id)
        if execution is None or not is_interrupted(execution):
            return retry, lock
        os.close(lock)
        progress("execution %s was interrupted (its local cloud is gone): starting the repair over as retry %d"
                 % (execution_id, retry + 1))
        retry += 1


def running_elsewhere(execution, own_lock_file: str) -> Optional[str]:
    """Why a RUNNING execution is alive (another cloud folder's command holds its lock), or None."""
    run = (execution.steps.get(LOCAL_RUN).result if LOCAL_RUN in execution.steps else {})
    lock_file = run.get("lockFile")
    if lock_file and lock_file != own_lock_file and lock_is_free(lock_file) is False:
        return ("execution %s is running now in another image-repair process (pid %s, local cloud in %s); "
                "wait for it or stop it" % (execution.execution_id, run.get("pid"), run.get("cloudDir")))
    return None


def take_execution_lock(path: Path, execution_id: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(handle)
        raise UsageError("execution %s is running now in another image-repair process (pid %s); wait for it "
                         "or stop it (its lock: %s)" % (execution_id, holder, path))
    os.ftruncate(handle, 0)
    os.pwrite(handle, b"%d\n" % os.getpid(), 0)
    return handle


def repair_on(session: LocalSession, args, raw: dict, output: Optional[OutputFile]) -> int:
    from .repair import command_ports, finish, print_execution
    from ..control.steps.start import record_execution
    from ..control.store import ExecutionStatus
    store = session.store
    execution, created, _ = record_execution(store, raw)
    execution_id = execution.execution_id
    if not created:
        if execution.status == ExecutionStatus.FAILED:
            progress("execution %s already ran and failed: its result (--retry %d repairs again)"
                     % (execution_id, int(raw["retry"]) + 1))
        else:
            progress("execution %s already ran (the same repair): its result" % execution_id)
        print_execution(execution, args.json)
        if output is None:
            return 0 if execution.status == ExecutionStatus.SUCCEEDED else 1
        if execution.status != ExecutionStatus.SUCCEEDED:
            return refuse_output(execution, output)
        return write_recorded_output(execution, output, int(raw["retry"]))
    record_local_run(session, execution_id, str(session.cloud_dir / LOCKS / (execution_id + ".lock")))
    ports = command_ports(args.settings, store, session.ecs)
    try:
        code = finish(args, ports, execution_id, True, session.clock)
    except BaseException as error:
        mark_interrupted(store, execution_id, "the run stopped: %s" % (type(error).__name__))
        raise
    kept = keep_new_image(session, store.get_execution(execution_id))
    if output is not None:
        if kept is None:
            return refuse_output(store.get_execution(execution_id), output)
        output.write_copy(kept)
        progress("new image's system disk written to %s" % output.path)
    return code


def record_local_run(session: LocalSession, execution_id: str, lock_file: str) -> None:
    """Record on the execution which process runs it and the lock it holds while it does (what
    ``status`` and the next command read), then seed the cloud's ids from the execution."""
    session.store.record_step_result(execution_id, LOCAL_RUN, {
        "pid": os.getpid(), "lockFile": lock_file, "imageFile": session.image_file,
        "cloudDir": str(session.cloud_dir)})
    session.seed_for(execution_id)


class MarkingLauncher:
    """``image-repair events deliver --image-file``: a LocalLauncher whose executions record their
    local run first (the session's own lock, held while the command lives)."""
    idempotent = False

    def __init__(self, launcher, session: LocalSession):
        self.launcher, self.session = launcher, session

    def launch(self, execution_id: str) -> bool:
        record_local_run(self.session, execution_id, self.session.lock_file)
        return self.launcher.launch(execution_id)


def interrupt_running(store, image_id: str, own_lock: Optional[str]) -> None:
    """Record as Interrupted the RUNNING executions of ``image_id`` that no live process runs:
    with ``own_lock`` None, those whose recorded lock is free (their process died); else those of
    this process (it is stopping)."""
    from ..control.store import ExecutionStatus
    for execution in store.list_executions():
        if execution.source_image_id != image_id or execution.status != ExecutionStatus.RUNNING:
            continue
        lock_file = (execution.steps[LOCAL_RUN].result if LOCAL_RUN in execution.steps else {}).get("lockFile")
        if own_lock is None and lock_file and lock_is_free(lock_file) is False:
            continue
        if own_lock is not None and lock_file != own_lock:
            continue
        mark_interrupted(store, execution.execution_id, "its local-cloud process stopped before the end")


def keep_new_image(session: LocalSession, execution) -> Optional[str]:
    """Move the new image's system-disk file out of the run's folder (deleted on exit) to
    CLOUD_DIR/images/<execution id>.img and record where it is; -> its path (None: no image)."""
    from ..control.store import ExecutionStatus
    new_image_id = (execution.report or {}).get("newImageId")
    source = session.new_image_file(new_image_id) if execution.status == ExecutionStatus.SUCCEEDED else None
    if not source:
        return None
    session.cloud.wait_idle()
    kept = session.publish(source, execution.execution_id + ".img")
    info = os.stat(kept)
    record = dict(execution.steps[LOCAL_RUN].result, newImageFile=kept,
                  newImageFileId=[info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns])
    session.store.record_step_result(execution.execution_id, LOCAL_RUN, record)
    progress("new image %s: system disk file %s" % (new_image_id, kept))
    return kept


def recorded_image_file(execution) -> Tuple[Optional[str], str]:
    """(the kept disk file of a finished local repair, or None with the reason)."""
    recorded = execution.steps.get(LOCAL_RUN)
    path = recorded.result.get("newImageFile") if recorded else None
    if not path:
        return None, "no disk file of its new image was kept"
    try:
        info = os.stat(path)
    except OSError:
        return None, "the new image's disk file %s is gone" % path
    if [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns] != recorded.result.get("newImageFileId"):
        return None, "the new image's disk file %s changed since the repair" % path
    return path, ""


def write_recorded_output(execution, output: OutputFile, retry: int) -> int:
    path, reason = recorded_image_file(execution)
    if path is None:
        progress("--output %s not written: %s (--retry %d repairs the image again)" % (output.path, reason, retry + 1))
        return 1
    output.write_copy(path)
    progress("new image's system disk written to %s (from %s)" % (output.path, path))
    return 0


def refuse_output(execution, output: OutputFile) -> int:
    progress("--output %s not written: execution %s ended %s without a new image"
             % (output.path, execution.execution_id, execution.status.value))
    return 1


def is_interrupted(execution) -> bool:
    from ..control.store import ExecutionStatus
    return execution.status == ExecutionStatus.FAILED and (execution.error or {}).get("code") == INTERRUPTED


def mark_interrupted(store, execution_id: str, why: str) -> None:
    """Record a RUNNING execution of a local cloud that is gone as FAILED ``Interrupted`` and free
    its image's lock (the next retry of the same image must not find it held)."""
    from ..control.store import ExecutionStatus

    def interrupt(execution):
        if execution.status == ExecutionStatus.RUNNING:
            execution.status = ExecutionStatus.FAILED
            execution.error = {"code": INTERRUPTED, "detail": "%s; its local cloud (instance, disks) lived in that "
                               "process and is gone, so nothing of it can resume" % why}
        return execution
    execution = store.update_execution(execution_id, interrupt)
    store.release_lock(execution.source_image_id, owner=execution_id)


def local_run_note(execution) -> Optional[str]:
    """What ``image-repair status`` adds about an execution run on a local cloud (None: not one)."""
    from ..control.store import ExecutionStatus
    recorded = execution.steps.get(LOCAL_RUN)
    if recorded is None:
        return None
    run = recorded.result
    if execution.status == ExecutionStatus.RUNNING:
        if lock_is_free(run.get("lockFile", "")) is False:
            return "running now in process %s (local cloud in %s)" % (run.get("pid"), run.get("cloudDir"))
        return ("its local-cloud process (pid %s) is gone: the same 'image-repair repair --image-file %s' command "
                "cleans what it left in %s and starts the repair over" % (run.get("pid"), run.get("imageFile"),
                                                                          run.get("cloudDir")))
    if is_interrupted(execution):
        return "interrupted: the same 'image-repair repair --image-file %s' command starts the repair over" % (
            run.get("imageFile"))
    if run.get("newImageFile"):
        path, reason = recorded_image_file(execution)
        return "new image's disk file: %s" % path if path else reason
    return None
