"""FC handler of step `snapshot_repaired_disk` (steps/snapshot_repaired_disk.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("snapshot_repaired_disk")
