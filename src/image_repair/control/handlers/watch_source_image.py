"""FC handler of step `watch_source_image` (steps/watch_source_image.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("watch_source_image")
