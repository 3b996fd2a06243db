"""FC handler of step `launch_repair_instance` (steps/launch_repair_instance.py): thin, ports from the environment on first call."""
from .fc import step_handler

handler = step_handler("launch_repair_instance")
