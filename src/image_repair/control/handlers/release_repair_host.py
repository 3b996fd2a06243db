"""FC handler of step `release_repair_host` (steps/release_repair_host.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("release_repair_host")
