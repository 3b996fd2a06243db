"""Errors of the agent, each with the exit status the command line returns for it."""


class AgentError(Exception):
    """A repair that could not be carried out (exit status 1)."""

    exit_status = 1


class BadInput(AgentError):
    """Malformed parameters, unknown repair items, a path that is not a disk (exit status 2)."""

    exit_status = 2


class RefusedDisk(AgentError):
    """A disk the agent must not touch: the host's root, a mounted filesystem, an ambiguous
    serial (exit status 2). Raised before anything is written."""

    exit_status = 2


class CommandFailed(AgentError):
    """An external command exited non-zero."""

    def __init__(self, argv, status, output):
        self.argv = list(argv)
        self.status = status
        self.output = output
        tail = "\n".join((output or "").strip().splitlines()[-15:])
        super(CommandFailed, self).__init__(
            "command failed (exit %s): %s%s" % (status, " ".join(self.argv), ("\n" + tail) if tail else "")
        )
