"""FC handler of step `start_repair` (steps/start_repair.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("start_repair")
