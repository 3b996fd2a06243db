"""FC handler of step `wait_for_repair` (steps/wait_for_repair.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("wait_for_repair")
