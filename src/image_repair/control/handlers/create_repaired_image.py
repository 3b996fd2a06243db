"""FC handler of step `create_repaired_image` (steps/create_repaired_image.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("create_repaired_image")
