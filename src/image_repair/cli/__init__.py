"""``image-repair``: the project's command line, one argparse tree (``build_parser``).

* Local disk commands (``check-disk``, ``repair-disk``) are the agent's own, and ``build-agent``
  and ``emulator`` have their own parsers: the tree names them (help, enumeration) and hands
  their arguments over untouched.
* The control-plane commands (``repair``, ``status``, ``list``, ``sweep``, ``janitor``,
  ``events deliver``, ``pool status``) are added to the tree by parsers.py and parsed by it: every value is
  typed and bounded (args.py), every refusal is one line on stderr with exit status 2, and
  no traceback reaches the user (an unexpected error is one line too, exit 1;
  IMAGE_REPAIR_DEBUG=1 shows its traceback). Their configuration is read once, before they run:
  ``args.settings`` (control/settings.py, read by dispatch.py); a bad variable is one line naming
  it, exit 2.

The top-level usage (``image-repair --help``) is generated from the parsers: every command's
usage line and help, the delegated ones' included; nothing is kept by hand.

What loads when: ``image-repair --help`` and a refused argument load this tree (parsers.py: the
standard library); a command that runs loads the control plane (dispatch.py and the modules it
imports at their top); the emulator, the flow runner and the cloud SDKs load only in the command
that uses them (each such import says why on its line).
"""
import argparse
import sys
import textwrap

from .args import CommandParser
from .parsers import add_events_commands, add_pool_commands, add_repair_commands, add_sweep_commands

# Commands with parsers of their own: (name, help, how to run it with the whole argv).
DELEGATED = (
    ("check-disk", "inspect a disk image or block device read-only, like the ECS image check"),
    ("repair-disk", "repair a disk image or block device in place or into a copy (--output), or show changes"),
    ("build-agent", "build the agent zipapp delivered to repair hosts"),
    ("emulator", "the ECS OpenAPI emulator on 127.0.0.1 (emulator serve --port PORT, docs/emulator.md)"),
)


def build_parser() -> CommandParser:
    parser = CommandParser(prog="image-repair", description="Repair Linux custom images for Alibaba Cloud ECS "
                           "offline. Run 'image-repair COMMAND --help' for a command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, helptext in DELEGATED[:2]:
        delegated(sub, name, helptext)
    add_repair_commands(sub)
    add_sweep_commands(sub)
    add_events_commands(sub)
    add_pool_commands(sub)
    for name, helptext in DELEGATED[2:]:
        delegated(sub, name, helptext)
    return parser


def summary(parser: CommandParser) -> str:
    """The top-level help: every command's usage line (from its own parser) and what it does."""
    lines = ["usage: %s COMMAND [options]" % parser.prog, ""]
    for command, helptext in commands(parser):
        if command.prog.split()[-1] in dict(DELEGATED):
            usage = command.prog.replace("image-repair ", "") + " ..."
        else:
            usage = " ".join(command.format_usage().split()).replace("usage: image-repair ", "").replace(" [-h]", "")
        lines += textwrap.wrap(usage, 100, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
        lines.append("        " + helptext)
    lines += ["", "Run '%s COMMAND --help' for a command's options." % parser.prog]
    return "\n".join(lines) + "\n"


def commands(parser: argparse.ArgumentParser):
    """(parser, help) of every command of the tree, sub-commands (events deliver) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, command in action.choices.items():
                nested = list(commands(command))
                yield from nested or [(command, helps.get(name) or "")]


def delegated(sub, name: str, helptext: str) -> None:
    command = sub.add_parser(name, help=helptext, add_help=False)
    command.add_argument("arguments", nargs=argparse.REMAINDER, help="its own options (%s --help)" % name)


def run_delegated(argv: list) -> int:
    command = argv[0]
    if command in ("check-disk", "repair-disk"):
        from ..agent.cli import main as agent_main      # lazy: the agent's disk tools, for their commands only
        return agent_main(argv)
    if command == "build-agent":
        from .build_agent import main as build_main     # lazy: the zipapp builder, for build-agent only
        return build_main(argv[1:])
    from ..emulator.server import main as emulator_main     # lazy: the emulator (about 0.1 s), for its command only
    return emulator_main(argv[1:])


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in dict(DELEGATED):
        try:
            return run_delegated(argv)
        except SystemExit as done:         # their parsers exit on --help and on bad arguments
            return done.code if isinstance(done.code, int) else 2
    parser = build_parser()
    if not argv or argv[0] in ("-h", "--help", "help"):
        (sys.stdout if argv else sys.stderr).write(summary(parser))
        return 0 if argv else 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:             # --help (0) or a refused argument (2, one line written)
        return done.code if isinstance(done.code, int) else 2
    # lazy: the control plane (pydantic, the store: about 0.15 s), once the arguments are accepted, never for --help
    from .dispatch import run
    return run(args)
