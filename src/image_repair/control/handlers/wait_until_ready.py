"""FC handler of step `wait_until_ready` (steps/wait_until_ready.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("wait_until_ready")
