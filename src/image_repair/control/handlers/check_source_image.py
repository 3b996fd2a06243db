"""FC handler of step `check_source_image` (steps/check_source_image.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("check_source_image")
