"""The agent's command line: ``check-disk`` and ``repair-disk`` on a disk image file, a block
device, or (on the repair host) the disk whose serial the control plane found.

Exit status: 0 every requested item ok, repaired or not applicable (check-disk: healthy);
1 an item failed (check-disk: an item at risk); 2 bad input or a refused disk, nothing written
(not even the ``--report``). The JSON report goes to stdout (``--json``) and/or ``--report FILE``
(checked before any work, written atomically, never over an input or, without ``--force``, over
an existing file); progress goes to stderr.
"""
import argparse
import contextlib
import json
import os
import signal
import sys
import time

from . import engine, log, outputs
from .errors import AgentError, BadInput
from .items import load_item, parse_item_list
from .progress import Progress
from .report import Report

# Keys accepted in --params (JSON from the control plane); anything else is malformed input.
PARAM_KEYS = {
    "items": "items",
    "repairItems": "items",
    "diskSerial": "serial",
    "dryRun": "dry_run",
    "mirrorUrl": "mirror_url",
    "assistPackageUrl": "assist_package_url",
    "aegisPackageUrl": "aegis_package_url",
}


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 by itself; keep our one message format
        raise BadInput(message)


def build_parser(prog="image-repair"):
    parser = _ArgumentParser(prog=prog, description="Offline repair of Linux system disks for Alibaba Cloud ECS.")
    sub = parser.add_subparsers(dest="command")
    for name, helptext in (("check-disk", "inspect a disk read-only, like the ECS image check"),
                           ("repair-disk", "repair a disk in place or into a copy")):
        cmd = sub.add_parser(name, help=helptext, description=helptext)
        add_disk_arguments(cmd, repair=(name == "repair-disk"))
    return parser


def add_disk_arguments(cmd, repair):
    cmd.add_argument("path", nargs="?", help="disk image file (raw, qcow2, vmdk, vhd) or block device")
    cmd.add_argument("--serial", help="on a repair host: the attached disk with this serial number")
    cmd.add_argument("--items", default=None,
                     help="comma or space separated items, 'all' or 'auto' (default: all for check-disk, auto for repair-disk)")
    cmd.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    cmd.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    cmd.add_argument("--params", metavar="JSON", help="parameters as one JSON object (from the control plane)")
    cmd.add_argument("--quiet", action="store_true", help="no progress on stderr")
    if repair:
        cmd.add_argument("--progress-lines", action="store_true",
                         help="also print machine-readable progress lines on stdout, before the JSON report "
                              "(for the control plane, which reads a running command's output)")
    cmd.add_argument("--force", action="store_true",
                     help="replace an existing --report%s file, and write where the mode bits say read-only "
                          "(a 0444 image, a 0555 folder)" % (" or --output" if repair else ""))
    cmd.add_argument("--allow-backing-outside", action="store_true",
                     help="follow an image's backing files and extents outside the image's folder")
    if repair:
        cmd.add_argument("--output", metavar="COPY", help="repair a copy written to COPY; the original is left as it is")
        cmd.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
        cmd.add_argument("--mirror-url", help="distribution mirror for package installs (default: the guest's own repositories)")
        cmd.add_argument("--assist-package-url", help="Cloud Assistant agent package URL (item assist)")
        cmd.add_argument("--aegis-package-url", help="Security Center agent package URL (item aegis)")


def merge_params(args):
    """Apply --params over the flags, refusing unknown keys and wrong types."""
    if not args.params:
        return
    try:
        params = json.loads(args.params)
    except ValueError as error:
        raise BadInput("--params is not valid JSON: %s" % error)
    if not isinstance(params, dict):
        raise BadInput("--params must be a JSON object")
    for key, value in params.items():
        if key not in PARAM_KEYS:
            raise BadInput("unknown parameter %r (known: %s)" % (key, ", ".join(sorted(PARAM_KEYS))))
        attribute = PARAM_KEYS[key]
        if attribute == "dry_run":
            if not isinstance(value, bool):
                raise BadInput("dryRun must be true or false")
        elif attribute != "items" and value is not None and not isinstance(value, str):
            raise BadInput("%s must be a string" % key)
        if not hasattr(args, attribute):
            raise BadInput("parameter %r does not apply to %s" % (key, args.command))
        setattr(args, attribute, value)


def _raise_on_signal(signum, frame):
    # Turn SIGTERM/SIGHUP (Cloud Assistant timeout, Ctrl-C of a parent) into an exception so
    # every mount, loop device and mapping is released by the context managers on the way out.
    raise SystemExit(128 + signum)


def run_command(args):
    """Carry out check-disk / repair-disk; returns the Report (never raises AgentError).

    The phases in order (engine.py lists them all): plan, mount, then the engine's detect, fix,
    regenerate and verify (check-disk: detect only)."""
    checking = args.command == "check-disk"
    dry_run = bool(getattr(args, "dry_run", False))
    report = Report("check" if checking else ("dry-run" if dry_run else "repair"))
    started = time.time()
    # From the run's start, so that a reader's estimate counts the mount too.
    progress = Progress() if getattr(args, "progress_lines", False) else None
    try:
        names, report_path = _plan(args, checking)
        with _mounted_guest(args, report, report_path, checking, dry_run) as guest:
            report.items = engine.check(guest, names) if checking else engine.repair(guest, names, progress)
    except AgentError as error:  # said once, on stderr, by main()
        report.error = {"type": type(error).__name__, "message": str(error), "exit_status": error.exit_status}
    report.duration = time.time() - started
    return report


def _plan(args, checking):
    """The items to run and the checked --report path: every parameter and output is checked
    here, before any disk is touched. Returns ``(names, report path or None)``."""
    merge_params(args)
    names, _auto = parse_item_list(args.items if args.items is not None else ("all" if checking else "auto"))
    if bool(args.path) == bool(args.serial):
        raise BadInput("give exactly one of a disk PATH or --serial")
    # Output paths are checked before any work; that they are no input once the inputs are known.
    output = getattr(args, "output", None)
    args.report_path = None
    report_path = outputs.check_destination(args.report, "--report", args.force) if args.report else None
    if report_path and output:
        outputs.refuse_same_path({"--report": report_path, "--output": os.path.abspath(output)})
    return names, report_path


@contextlib.contextmanager
def _mounted_guest(args, report, report_path, checking, dry_run):
    """Claim the disk, mount its guest, read its facts and yield the Guest the items work on;
    the report gets the disk, layout and distribution as soon as they are known. On the way
    out (success, error or signal) everything is unmounted and the claim released."""
    # Imported once the parameters are known to be good: bad input needs none of this.
    from .disk.session import open_guest, resolve_target
    from .guest.context import Guest, RepairOptions
    from .guest.facts import detect_facts
    from .guestfs import GuestFS

    options = None if checking else RepairOptions(args.mirror_url, args.assist_package_url, args.aegis_package_url)
    target = resolve_target(path=args.path, serial=args.serial, output=getattr(args, "output", None),
                            read_only=checking or dry_run, force=args.force,
                            allow_backing_outside=args.allow_backing_outside)
    try:
        if report_path:
            outputs.refuse_inputs(report_path, "--report", target.inputs)
        args.report_path = report_path
        report.disk = target.describe()
        with open_guest(target) as mounted:
            report.layout = mounted.layout
            facts = detect_facts(GuestFS(mounted.root))
            report.distribution = facts.to_dict()
            mounted.prepare_chroot(facts)
            yield Guest(mounted.root, facts, mounted.layout, options, dry_run=dry_run, read_only=checking)
    finally:
        target.release()


def print_table(report, stream):
    """The check as the console shows it: item, state, risk, finding (nothing for a run that
    stopped with an error: main() says why on stderr)."""
    if report.error:
        return
    dist = report.distribution or {}
    stream.write("disk: %s   distribution: %s   layout: %s\n" % (
        report.disk.get("path") or report.disk.get("serial"), dist.get("name") or dist.get("id"),
        report.layout.get("summary", "")))
    rows = [("CHECK ITEM", "ITEM", "STATE", "RISK", "FINDING")]
    labels = {"ok": "ok", "skipped": "at risk" if report.mode == "check" else "skipped",
              "not_applicable": "n/a", "failed": "FAILED", "repaired": "repaired"}
    for item in report.items:
        finding = "; ".join(item.findings) if item.findings else ""
        if item.error:
            finding = (item.error + "; " + finding) if finding else item.error
        rows.append((load_item(item.name).check_item or "-", item.name, labels[item.status],
                     item.risk or "-", finding))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        stream.write("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4] + "\n")


def main(argv=None, prog="image-repair"):
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except BadInput as error:
        sys.stderr.write("%s: error: %s\n" % (prog, error))
        return 2
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    log.set_quiet(args.quiet)
    report = run_command(args)
    status = report.exit_status
    if report.error:
        message = report.error["message"]
        if status == 2:  # a refusal is one line
            message = "; ".join(line.strip() for line in message.splitlines() if line.strip())
        sys.stderr.write("%s: error: %s\n" % (prog, message))
    if getattr(args, "report_path", None) and status != 2:  # a refused command writes nothing
        try:
            outputs.write_atomically(args.report_path, report.to_json() + "\n", "--report", args.force)
        except (AgentError, OSError) as error:
            log.warn("the report was not written: %s", error)
            status = max(status, 1)
    if args.json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        print_table(report, sys.stdout)
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
