"""Errors of the local CloudFlow runner."""


class DefinitionError(ValueError):
    """The flow definition is invalid; ``problems`` lists every problem found, one per line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("invalid flow definition:\n  - " + "\n  - ".join(self.problems))


class ExpressionError(ValueError):
    """An expression or condition that does not parse (load time) or cannot be evaluated."""


class StateError(Exception):
    """An error raised inside a state, matched by Retry/Catch rules by ``code`` (``FC.Throttling``,
    ``FnF.Timeout``...)."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__("%s: %s" % (code, detail) if detail else code)


class ExecutionFailed(StateError):
    """Errors that end the execution at once, whatever Retry/Catch say (64 KiB limit, bad
    expressions at run time, the transition guard)."""
