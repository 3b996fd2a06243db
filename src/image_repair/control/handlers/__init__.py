"""Function Compute handlers: one thin module per step plus ``start``. A handler parses its event
into a model, calls one step with its ports, and returns a JSON-able dict. Nothing is built at
import time: ports are made on the first invocation from the function's environment."""
