"""Progress and diagnostics on stderr; stdout is kept for the JSON report.

:func:`info` says what the agent is doing (``--quiet`` silences it), :func:`warn` what went
wrong but did not stop the run (never silenced). Long commands (initramfs rebuilds, package
installs) run through :func:`image_repair.agent.runner.run` with a ``label``: it logs when they
start, a heartbeat while they run and their time when they end, so a user watching a repair sees
what runs and for how long, and Cloud Assistant's output shows where a run stopped.
"""
import sys
import time

_quiet = [False]


def set_quiet(quiet):
    _quiet[0] = bool(quiet)


def info(message, *args):
    if _quiet[0]:
        return
    text = message % args if args else message
    sys.stderr.write("[image-repair %s] %s\n" % (time.strftime("%H:%M:%S"), text))
    sys.stderr.flush()


def warn(message, *args):
    text = message % args if args else message
    sys.stderr.write("[image-repair %s] warning: %s\n" % (time.strftime("%H:%M:%S"), text))
    sys.stderr.flush()
