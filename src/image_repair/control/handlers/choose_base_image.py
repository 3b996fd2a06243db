"""FC handler of step `choose_base_image` (steps/choose_base_image.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("choose_base_image")
