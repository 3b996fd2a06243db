"""Running a parsed control-plane command (cli.main loads this module once the arguments are
accepted): the environment's settings read once into ``args.settings``, the command's function
(RUNS, by the name its parser gives in ``run``), and every failure as one line on stderr.
"""
import sys
import traceback

from ..control.cloud_errors import CloudError
from ..control.settings import Settings, SettingsError
from ..control.steps.runner import HandlerError
from ..control.store.models import StoreConfigError
from . import events, repair, sweep
from .args import UsageError, fail, one_line

# Codes of errors that mean the command cannot run as configured: exit status 2 like bad input.
CONFIGURATION_CODES = ("MissingCredentials", "InvalidConfiguration", "InvalidInput")
# The parsers' ``run`` names (parsers.py) -> the function that runs the command.
RUNS = {
    "repair": repair.run_repair,
    "status": repair.run_status,
    "list": repair.run_list,
    "sweep": sweep.run_sweep,
    "janitor": sweep.run_janitor,
    "events deliver": events.run_deliver,
}


def run(args) -> int:
    """Run a parsed control-plane command with the environment's settings (read once, here);
    every failure is one line on stderr."""
    try:
        args.settings = Settings.from_env()
    except SettingsError as error:
        return fail(args.command, str(error))
    try:
        return RUNS[args.run](args)
    except (UsageError, StoreConfigError) as error:
        return fail(args.command, str(error))
    except (CloudError, HandlerError) as error:
        if error.code in CONFIGURATION_CODES:
            return fail(args.command, str(error))
        sys.stderr.write("image-repair %s: %s\n" % (args.command, one_line(str(error))))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("image-repair %s: interrupted\n" % args.command)
        return 130
    except Exception as error:   # a bug or an unforeseen failure: still one line (and a way to see more)
        if args.settings.debug:
            traceback.print_exc()
        sys.stderr.write("image-repair %s: failed: %s: %s (IMAGE_REPAIR_DEBUG=1 shows the traceback)\n"
                         % (args.command, type(error).__name__, one_line(str(error))))
        return 1
