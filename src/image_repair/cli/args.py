"""What every ``image-repair`` control-plane command shares at its edge: a parser whose errors are
one line and exit status 2, and argument types that bound and check each value before any work.

A type raises ``argparse.ArgumentTypeError`` with a message that quotes at most a short prefix
of the bad value (inputs.shorten); argparse prefixes it with the option's name.
"""
import argparse
import os
import re
import stat
import sys
from typing import Callable, NoReturn

from ..control.inputs import load_json_object, shorten

CLOUD_DIR = "/var/tmp/image-repair-cloud"      # --cloud-dir's default: the local cloud's folder
ENDPOINT_HELP = ("an ECS emulator served by 'image-repair emulator serve' (HOST:PORT, plain HTTP; default "
                 "IMAGE_REPAIR_ECS_ENDPOINT); the flow waits at the emulator's own pace (its clock)")
MAX_MESSAGE = 400          # an error line longer than this is cut (argparse may quote whole values)
MAX_TEXT = 128             # a plain text argument (an id, a platform name)
ENDPOINT = re.compile(r"^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$")
QUOTED = re.compile(r"'([^']{%d,})'" % (40 + 1))


class UsageError(Exception):
    """Bad arguments found after parsing (they depend on one another): exit status 2."""


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``image-repair repair: argument --params: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:
        # argparse's own messages quote whole values ("invalid choice: '...'"): shorten them
        message = QUOTED.sub(lambda found: shorten(found.group(1), 40), str(message))
        self.exit(2, "%s: %s\n" % (self.prog, one_line(message)))


def one_line(message: str) -> str:
    """A message as one bounded line: newlines folded, cut at MAX_MESSAGE characters."""
    message = " ".join(str(message).split())
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "..."


def fail(command: str, message: str) -> int:
    """Write ``image-repair COMMAND: message`` (one line) on stderr; -> exit status 2."""
    sys.stderr.write("image-repair %s: %s\n" % (command, one_line(message)))
    return 2


def check_time_scale(args) -> None:
    """``--time-scale`` paces ``--image-file``'s in-process cloud only: given without it, it would
    be silently ignored (an emulator at --endpoint sets its own pace), so it is refused."""
    if args.time_scale is not None and not args.image_file:
        raise UsageError("--time-scale applies to --image-file only (an emulator at --endpoint sets its own pace: "
                         "its clock)")


# The local cloud's modelled minutes (a host's boot, CreateImage, the image check) stand for
# work that is not done here, or is done for real and waited for anyway (the copies, the agent,
# the checks): by default they pass 100 times faster, so a local repair lasts about as long as
# its real work. --time-scale 1 rehearses the cloud's pace.
DEFAULT_TIME_SCALE = 0.01


def add_time_scale(parser) -> None:
    parser.add_argument("--time-scale", metavar="S", type=number(float, 0.0, 1.0, low_open=True),
                        help="with --image-file: real seconds per second of the modelled cloud's waits, more "
                             "than 0 and at most 1 (default %g; 1 is the cloud's pace); real work in progress "
                             "is always waited for (an emulator at --endpoint sets its own pace)" % DEFAULT_TIME_SCALE)


def time_scale_of(args) -> float:
    """The local cloud's time scale: ``--time-scale``, else DEFAULT_TIME_SCALE."""
    return DEFAULT_TIME_SCALE if args.time_scale is None else args.time_scale


# ---- argument types ---------------------------------------------------------------------------
def json_object(text: str) -> dict:
    """The type of every JSON-taking option (``--params``, ``--defaults``, ``--policy``): one
    JSON object, bounded in size and depth; a bad one is argparse's one-line error, exit 2."""
    try:
        return load_json_object(text, "the value")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def number(kind: Callable, low: float, high: float, low_open: bool = False) -> Callable[[str], float]:
    """An int or float between ``low`` and ``high`` (``low`` excluded when ``low_open``)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%s is not %s" % (shorten(text, 20), "an integer" if kind is int
                                                                 else "a number"))
        if value != value or not ((low < value) if low_open else (low <= value)) or value > high:
            raise argparse.ArgumentTypeError("%s is out of range: %s %g, at most %g" % (
                shorten(text, 20), "more than" if low_open else "at least", low, high))
        return value
    parse.__name__ = kind.__name__     # argparse names the type in its own messages
    return parse


def text(pattern: str = r"^[\x21-\x7e]+$", what: str = "printable ASCII without spaces",
         max_length: int = MAX_TEXT) -> Callable[[str], str]:
    """A short text value (ids, names): bounded and of a known shape."""
    shape = re.compile(pattern)

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise argparse.ArgumentTypeError("%s is longer than %d characters" % (shorten(value, 40), max_length))
        if not shape.match(value):
            raise argparse.ArgumentTypeError("%s is malformed (expected %s)" % (shorten(value, 40), what))
        return value
    parse.__name__ = "text"
    return parse


def endpoint(value: str) -> str:
    """``HOST:PORT`` of an emulator (also the default from IMAGE_REPAIR_ECS_ENDPOINT)."""
    if not ENDPOINT.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise argparse.ArgumentTypeError("%s is not HOST:PORT (IMAGE_REPAIR_ECS_ENDPOINT sets the default)"
                                         % shorten(value, 40))
    return value


def disk_image_file(value: str) -> str:
    """An existing, readable regular file (a disk image), as an absolute path."""
    path = os.path.abspath(value)
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise argparse.ArgumentTypeError("%s: %s" % (shorten(value, 80), error.strerror))
    if stat.S_ISDIR(mode):
        raise argparse.ArgumentTypeError("%s is a folder, not a disk image file" % shorten(value, 80))
    if not stat.S_ISREG(mode):
        raise argparse.ArgumentTypeError("%s is not a regular file (a disk image file is needed)" % shorten(value, 80))
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError("%s is not readable" % shorten(value, 80))
    return path


def folder(value: str) -> str:
    """A folder to create or use (the local cloud's): not an existing non-folder."""
    path = os.path.abspath(value)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError("%s exists and is not a folder" % shorten(value, 80))
    if len(path) > 1024:
        raise argparse.ArgumentTypeError("%s is longer than 1024 characters" % shorten(value, 40))
    return path


def readable_file_or_stdin(value: str) -> str:
    """A file to read, or ``-`` for standard input."""
    if value == "-":
        return value
    path = os.path.abspath(value)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError("%s is a folder" % shorten(value, 80))
    return path


def output_path(value: str) -> str:
    """A file to write (checked fully by outputs.OutputFile once every argument is known)."""
    if not value or len(value) > 4096:
        raise argparse.ArgumentTypeError("%s is not a usable file name" % shorten(value, 40))
    return os.path.abspath(value)
