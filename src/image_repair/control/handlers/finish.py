"""FC handler of step `finish` (steps/finish.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("finish")
