"""Running a parsed control-plane command (cli.main loads this module once the arguments are
accepted): the environment's settings read once into ``args.settings``, the command's function
(``command_function``, by the name its parser gives in ``run``; the sweep's and the events' modules
load for their commands only), and every failure as one line on stderr.
"""
import sys
import traceback
from typing import Callable

from ..control.cloud_errors import CloudError
from ..control.settings import Settings, SettingsError
from ..control.steps.runner import HandlerError
from ..control.store.models import StoreConfigError
from . import pool, repair
from .args import UsageError, fail, one_line

# Codes of errors that mean the command cannot run as configured: exit status 2 like bad input.
CONFIGURATION_CODES = ("MissingCredentials", "InvalidConfiguration", "InvalidInput")
# the parsers' ``run`` names
RUNS = ("repair", "status", "list", "sweep", "janitor", "events deliver", "pool status")


def command_function(name: str) -> Callable:
    """The function that runs the command the parser named ``name`` (one of RUNS)."""
    if name in ("sweep", "janitor"):
        from . import sweep       # lazy: the sweep's and the janitor's triggers and launchers, for them only
        return {"sweep": sweep.run_sweep, "janitor": sweep.run_janitor}[name]
    if name == "events deliver":
        from . import events      # lazy: the events trigger and its delivery parsing, for events deliver only
        return events.run_deliver
    return {"repair": repair.run_repair, "status": repair.run_status, "list": repair.run_list,
            "pool status": pool.run_pool_status}[name]


def run(args) -> int:
    """Run a parsed control-plane command with the environment's settings (read once, here);
    every failure is one line on stderr."""
    try:
        args.settings = Settings.from_env()
    except SettingsError as error:
        return fail(args.command, str(error))
    try:
        return command_function(args.run)(args)
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
