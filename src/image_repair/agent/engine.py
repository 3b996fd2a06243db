"""Run the requested repair items on a mounted guest and build the report.

A run of the agent, phase by phase (cli.run_command reads in this order):
1. plan: the items and outputs, every parameter checked before anything is touched
   (``cli._plan``);
2. mount: the disk claimed, its guest mounted and its facts read (``cli._mounted_guest``);
3. detect every requested item, read-only (:func:`_detect`);
4. fix the items at risk, each recording its changes (:func:`_fix`), then run the shared
   regenerations once (:func:`_regenerate`): the initramfs of every kernel that needs modules,
   then the bootloader configuration (so virtio and nvme cost one rebuild per kernel, not two);
5. verify every item: one still at risk after its fix is ``failed`` (:func:`_verify`).
``check`` (check-disk) stops after the detection. A failure in one item never stops the others;
it is reported with its error.
"""
import time

from . import log
from .errors import AgentError
from .guestfs import ChangeRecord
from .items import load_item
from .progress import NoProgress
from .report import FAILED, NOT_APPLICABLE, OK, REPAIRED, SKIPPED, ItemResult


class _Run(object):
    """One item through the phases: its detection, its changes, its time and its first error."""

    def __init__(self, name):
        self.name = name
        self.item = load_item(name)
        self.detection = None
        self.record = ChangeRecord()
        self.seconds = 0.0
        self.error = None

    def timed(self, function, *args):
        started = time.time()
        try:
            return function(*args)
        finally:
            self.seconds += time.time() - started

    def needs_fix(self):
        """Detected without error, applicable and at risk."""
        return self.error is None and self.detection.applicable and self.detection.at_risk

    def failed(self, phase, error):
        """Record the error that stopped this item in ``phase`` (detect or fix) and say it."""
        self.error = phase + ": " + _describe_error(error)
        log.warn("%s: %s", self.name, self.error)

    def result(self, status, findings, error=None, risk=None):
        return ItemResult(self.name, status, findings, self.record, self.seconds, error, risk=risk)


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


# The shared regenerations a repair may run, with their share of the progress units: rebuilding
# every kernel's initramfs takes most of an offline repair (10.7 of 13.2 s on the demo image),
# the bootloader configuration about a tenth of that.
SHARED_UNITS = {"initramfs": 8, "bootloader": 1}
SHARED_TOTAL = sum(SHARED_UNITS.values())


def repair(guest, names, progress=None):
    """Detect, fix, regenerate, verify. Returns one ItemResult per name, in order. ``progress``
    (progress.Progress) hears of each unit of work done."""
    progress = progress or NoProgress()
    runs = [_Run(name) for name in names]
    for run in runs:
        _detect(guest, run)
    to_fix = [run for run in runs if run.needs_fix()]
    # Planned once the detection (quick: it reads files) says what is at risk, so the percent
    # only grows: each fix, and both regenerations when anything is fixed (one not needed counts
    # as done at once).
    progress.plan(detect=len(runs), fix=len(to_fix), regenerate=SHARED_TOTAL if to_fix else 0,
                  verify=len(runs))
    progress.advance("detect", units=len(runs))
    for run in to_fix:
        _fix(guest, run)
        progress.advance("fix", run.name)
    ran = _regenerate(guest, runs, progress)
    if to_fix and ran < SHARED_TOTAL:
        progress.advance("regenerate", units=SHARED_TOTAL - ran)
    results = []
    for run in runs:
        results.append(_verify(guest, run))
        progress.advance("verify", run.name)
    return results


def _detect(guest, run):
    guest.fs.record = run.record
    try:
        run.detection = run.timed(run.item.detect, guest)
    except Exception as error:
        run.failed("detect", error)


def _fix(guest, run):
    log.info("%s: repairing (%s)", run.name, "; ".join(run.detection.findings[:3]))
    guest.fs.record = run.record
    try:
        run.timed(run.item.fix, guest, run.detection)
    except Exception as error:
        run.failed("fix", error)


def _regenerate(guest, runs, progress):
    """The shared regenerations, each once for all the items that asked for it: the initramfs
    first, then the bootloader configuration (grub-mkconfig writes initrd lines only for the
    initramfs files it finds). Returns the progress units of those that ran."""
    by_name = dict((run.name, run) for run in runs)
    ran = 0
    for plan, what in ((guest.initramfs, "initramfs"), (guest.boot, "bootloader")):
        requesters = [by_name[name] for name in plan.requested_by() if name in by_name]
        if requesters:
            _apply_shared(guest, plan, requesters)
            ran += SHARED_UNITS[what]
            progress.advance("regenerate", what, units=SHARED_UNITS[what])
    return ran


def _apply_shared(guest, plan, requesters):
    """Apply one shared plan. Its time and its changes are shared by the items that asked for it;
    an error of the plan (for one item, or for all when the plan raised) fails those items."""
    shared = ChangeRecord()
    guest.fs.record = shared
    started = time.time()
    try:
        errors = plan.apply(guest) or {}
    except Exception as error:
        errors = dict((run.name, _describe_error(error)) for run in requesters)
    share = (time.time() - started) / len(requesters)
    for run in requesters:
        run.seconds += share
        run.record.include(shared)
        if errors.get(run.name) and run.error is None:
            run.error = "regenerate: " + errors[run.name]


def _verify(guest, run):
    """The item's result: failed (an earlier phase's error), not applicable, ok, skipped (a dry
    run repairs nothing), else what a second detection says of the fixed guest."""
    guest.fs.record = run.record
    detection = run.detection
    if run.error is not None:
        return run.result(FAILED, detection.findings if detection else [], run.error,
                          risk=detection.risk if detection else None)
    if not detection.applicable:
        return run.result(NOT_APPLICABLE, detection.findings)
    if not detection.at_risk:
        return run.result(OK, detection.findings)
    if guest.dry_run:
        return run.result(SKIPPED, detection.findings + ["dry run: not repaired"], risk=detection.risk)
    return _verify_fixed(guest, run)


def _verify_fixed(guest, run):
    detection = run.detection
    try:
        after = run.timed(run.item.verify, guest)
    except Exception as error:
        return run.result(FAILED, detection.findings, "verify: " + _describe_error(error), risk=detection.risk)
    if after.at_risk:
        return run.result(FAILED, detection.findings + after.findings, "still at risk after the repair",
                          risk=after.risk)
    return run.result(REPAIRED, detection.findings)
