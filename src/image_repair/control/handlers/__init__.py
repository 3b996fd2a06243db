"""Function Compute entry points: one thin module per step (``handler = step_handler("<step>")``)
plus ``start``, ``events`` and ``sweep``. A handler parses its event, calls the step runner
(steps/runner.py) or a trigger with ports from the function's environment, and returns a JSON-able
dict. Nothing is built at import time: ports are made on the first invocation."""
