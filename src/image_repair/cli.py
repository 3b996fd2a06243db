"""``image-repair``: the project's command line.

Local disk commands (``check-disk``, ``repair-disk``) are the agent's own, run in-process; the
control-plane commands are registered by their modules as they are built. Imports are deferred to
the subcommand that needs them, so ``image-repair check-disk`` never loads the cloud SDKs.
"""
import sys

AGENT_COMMANDS = ("check-disk", "repair-disk")

USAGE = """usage: image-repair COMMAND [options]

local disks:
  check-disk PATH         inspect a disk image or block device read-only, like the ECS image check
  repair-disk PATH        repair it in place or into a copy (--output), or show changes (--dry-run)

agent:
  build-agent [-o FILE]   build the agent zipapp delivered to repair hosts

repair workflow:
  repair IMAGE_ID [options]
                          repair a custom image through the whole workflow (local cloud by default)
  status EXECUTION        an execution's status and report
  list                    the executions in the store

triggers:
  sweep [--dry-run] [--max-starts N] [--endpoint HOST:PORT]
                          start repairs of the images whose check finds repairable risks (docs/sweep-and-janitor.md)
  janitor [--dry-run] [--ttl HOURS] [--endpoint HOST:PORT]
                          delete resources left by finished or unknown executions
  events deliver FILE|- [--image-file DISK | --endpoint HOST:PORT]
                          handle an EventBridge delivery like the events function (docs/events.md)

emulator:
  emulator serve --port PORT [--seed FILE] [--latency MODEL]
                          the ECS OpenAPI emulator on 127.0.0.1 (docs/emulator.md)

Run 'image-repair COMMAND --help' for a command's options.
"""


WORKFLOW_COMMANDS = ("repair", "status", "list", "sweep", "janitor", "events")


def run_workflow_command(command: str, argv: list) -> int:
    """The control-plane commands; a bad store setting (IMAGE_REPAIR_STORE) is a clear error, exit 2."""
    from .store.models import StoreConfigError
    try:
        if command in ("repair", "status", "list"):
            from .repair_cli import main as repair_main
            return repair_main(argv)
        if command in ("sweep", "janitor"):
            from .sweep_cli import main as sweep_main
            return sweep_main(argv)
        from .events_cli import main as events_main
        return events_main(argv[1:])
    except StoreConfigError as error:
        sys.stderr.write("image-repair: %s\n" % error)
        return 2


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    command = argv[0]
    if command in AGENT_COMMANDS:
        from .agent.cli import main as agent_main
        return agent_main(argv)
    if command == "build-agent":
        from .agent_build import main as build_main
        return build_main(argv[1:])
    if command == "emulator":
        from .emulator.server import main as emulator_main
        return emulator_main(argv[1:])
    if command in WORKFLOW_COMMANDS:
        return run_workflow_command(command, argv)
    sys.stderr.write("image-repair: unknown command %r\n\n%s" % (command, USAGE))
    return 2
