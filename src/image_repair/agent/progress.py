"""Machine-readable progress on stdout, for a caller that can read only the output so far.

Cloud Assistant's DescribeInvocationResults may return a running command's output so far; when it
does, the control plane's repair wait reads the last progress line and waits about as long as the
run still needs, instead of guessing. One line per unit of work done::

    image-repair-progress {"percent": 40, "elapsed": 12.5, "phase": "fix", "item": "virtio"}

``elapsed`` is seconds since the run started; ``percent`` counts units of work, weighted by how
long each kind of unit typically takes (a shared initramfs regeneration is the long one). Off
unless asked (``--progress-lines``): otherwise stdout holds the JSON report alone. The lines never
start with ``{``, so a reader of the report (the first JSON object starting a line) skips them.
"""
import json
import sys
import time

PREFIX = "image-repair-progress "
# Relative cost of a unit of work per phase: detection and verification read files; a fix writes a
# few (or installs packages: those items take longer, and the estimate then refines as lines
# come); the shared regenerations run the guest's own tools (engine.SHARED_UNITS says how many
# units each is), which is most of an offline repair's time.
WEIGHTS = {"detect": 1, "fix": 1, "regenerate": 4, "verify": 1}


class Progress(object):
    """Counts weighted units against a plan and prints a line after each one."""

    def __init__(self, stream=None, clock=time.time):
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.started = clock()
        self.total = 0
        self.done = 0

    def plan(self, **units):
        """Add planned units per phase (``detect=5, fix=2``): the total the percent is of."""
        for phase, count in units.items():
            self.total += WEIGHTS[phase] * count

    def advance(self, phase, item=None, units=1):
        self.done = min(self.total, self.done + WEIGHTS[phase] * units)
        percent = 100 if not self.total else int(100 * self.done / self.total)
        line = {"percent": percent, "elapsed": round(self.clock() - self.started, 1), "phase": phase}
        if item:
            line["item"] = item
        self.stream.write(PREFIX + json.dumps(line, sort_keys=True) + "\n")
        self.stream.flush()


def parse_line(line):
    """The progress a line reports, ``{"percent": .., "elapsed": .., ...}``, or None (not a progress
    line, a line cut short, or fields of the wrong type). The one reader of the format: the control
    plane's repair wait and the emulator's running output both use it."""
    if not line.startswith(PREFIX):
        return None
    try:
        value = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    for key in ("percent", "elapsed"):
        if isinstance(value.get(key), bool) or not isinstance(value.get(key), (int, float)):
            return None
    return value


class NoProgress(object):
    """The default: nothing is printed."""

    def plan(self, **units):
        pass

    def advance(self, phase, item=None, units=1):
        pass
