"""FC handler of step `clean_up` (steps/clean_up.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("clean_up")
