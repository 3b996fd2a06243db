"""Run the requested repair items on a mounted guest and build the report.

The order of a repair run:
1. detect every requested item (read-only);
2. fix the items at risk, each recording its changes;
3. run the shared regenerations once: the initramfs of every kernel that needs modules, then the
   bootloader configuration (so virtio and nvme cost one rebuild per kernel, not two);
4. verify every fixed item; an item still at risk is ``failed``.
A failure in one item never stops the others; it is reported with its error.
"""
import time

from . import log
from .errors import AgentError
from .guestfs import ChangeRecord
from .items import load_item
from .report import FAILED, NOT_APPLICABLE, OK, REPAIRED, SKIPPED, ItemResult


class _Run(object):
    def __init__(self, name):
        self.name = name
        self.item = load_item(name)
        self.detection = None
        self.record = ChangeRecord()
        self.started = time.time()
        self.seconds = 0.0
        self.error = None

    def timed(self, function, *args):
        started = time.time()
        try:
            return function(*args)
        finally:
            self.seconds += time.time() - started


def _describe_error(error):
    return str(error) if isinstance(error, AgentError) else "%s: %s" % (type(error).__name__, error)


def check(guest, names):
    """check-disk: detection only. At-risk items are reported as ``skipped`` with their risk."""
    results = []
    for name in names:
        run = _Run(name)
        try:
            detection = run.timed(run.item.detect, guest)
        except Exception as error:  # an item that cannot inspect the guest is a failed check
            results.append(ItemResult(name, FAILED, duration=run.seconds, error=_describe_error(error)))
            continue
        if not detection.applicable:
            status = NOT_APPLICABLE
        elif detection.at_risk:
            status = SKIPPED
        else:
            status = OK
        results.append(ItemResult(name, status, detection.findings, duration=run.seconds, risk=detection.risk))
    return results


def repair(guest, names):
    """Detect, fix, regenerate, verify. Returns one ItemResult per name, in order."""
    runs = [_Run(name) for name in names]
    by_name = dict((run.name, run) for run in runs)

    for run in runs:
        guest.fs.record = run.record
        try:
            run.detection = run.timed(run.item.detect, guest)
        except Exception as error:
            run.error = "detect: " + _describe_error(error)
            log.warn("%s: %s", run.name, run.error)

    to_fix = [r for r in runs if r.error is None and r.detection.applicable and r.detection.at_risk]
    for run in to_fix:
        log.info("%s: repairing (%s)", run.name, "; ".join(run.detection.findings[:3]))
        guest.fs.record = run.record
        try:
            run.timed(run.item.fix, guest, run.detection)
        except Exception as error:
            run.error = "fix: " + _describe_error(error)
            log.warn("%s: %s", run.name, run.error)

    # Shared regenerations, each once for all the items that asked for it.
    for plan in (guest.initramfs, guest.boot):
        requesters = [by_name[n] for n in plan.requested_by() if n in by_name]
        if not requesters:
            continue
        shared = ChangeRecord()
        guest.fs.record = shared
        started = time.time()
        try:
            errors = plan.apply(guest) or {}
        except Exception as error:
            errors = dict((r.name, _describe_error(error)) for r in requesters)
        share = (time.time() - started) / len(requesters)
        for run in requesters:
            run.seconds += share
            for path in shared.files:
                run.record.add_file(path)
            run.record.backups.extend(b for b in shared.backups if b not in run.record.backups)
            run.record.commands.extend(shared.commands)
            run.record.diffs.extend(shared.diffs)
            if errors.get(run.name) and run.error is None:
                run.error = "regenerate: " + errors[run.name]

    results = []
    for run in runs:
        guest.fs.record = run.record
        if run.error is not None:
            findings = run.detection.findings if run.detection else []
            results.append(ItemResult(run.name, FAILED, findings, run.record, run.seconds, run.error,
                                      risk=run.detection.risk if run.detection else None))
            continue
        detection = run.detection
        if not detection.applicable:
            results.append(ItemResult(run.name, NOT_APPLICABLE, detection.findings, run.record, run.seconds))
            continue
        if not detection.at_risk:
            results.append(ItemResult(run.name, OK, detection.findings, run.record, run.seconds))
            continue
        if guest.dry_run:
            results.append(ItemResult(run.name, SKIPPED, detection.findings + ["dry run: not repaired"],
                                      run.record, run.seconds, risk=detection.risk))
            continue
        try:
            after = run.timed(run.item.verify, guest)
        except Exception as error:
            results.append(ItemResult(run.name, FAILED, detection.findings, run.record, run.seconds,
                                      "verify: " + _describe_error(error), risk=detection.risk))
            continue
        if after.at_risk:
            results.append(ItemResult(run.name, FAILED, detection.findings + after.findings, run.record,
                                      run.seconds, "still at risk after the repair", risk=after.risk))
        else:
            results.append(ItemResult(run.name, REPAIRED, detection.findings, run.record, run.seconds))
    return results
