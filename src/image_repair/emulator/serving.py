"""What the emulators' ``serve`` commands share: the parser's common part (``--port``,
``--verbose``; the CLI's one-line errors and exit 2) and serving until Ctrl-C or SIGTERM."""
import signal
import sys
from typing import Callable, Tuple

from ..cli.args import CommandParser, number


def serve_command(prog: str, description: str, serve_help: str) -> Tuple[CommandParser, CommandParser]:
    """-> (the command's parser, its ``serve`` subcommand) with ``--port`` and ``--verbose``; the
    caller adds what its emulator serves."""
    parser = CommandParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help=serve_help)
    serve.add_argument("--port", type=number(int, 0, 65535), required=True,
                       help="TCP port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser, serve


def serve_until_stopped(serve_forever: Callable[[], None], close: Callable[[], None]) -> int:
    """Serve until Ctrl-C or SIGTERM (the same: ``close`` runs on the way out, so a local cloud
    detaches its loop devices); -> the exit status, 0."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        close()
    return 0
