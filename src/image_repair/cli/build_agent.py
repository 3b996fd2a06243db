"""``image-repair build-agent [-o dist/image-repair-agent.pyz]``: write the agent zipapp the
workflow delivers to repair hosts (control/agent_build.py builds it), and say how many SendFile
calls it takes."""
import base64
import os
import sys

from ..control.agent_build import SENDFILE_LIMIT, build_zipapp, sendfile_chunks
from .args import CommandParser


def main(argv=None):
    parser = CommandParser(prog="image-repair build-agent", description="Build the agent into one zipapp (standard "
                           "library, Python 3.6+), the file the workflow sends to repair hosts.")
    parser.add_argument("-o", "--output", default="dist/image-repair-agent.pyz",
                        help="where to write the zipapp (default: %(default)s)")
    args = parser.parse_args(argv)
    data = build_zipapp()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "wb") as handle:
        handle.write(data)
    os.chmod(args.output, 0o755)
    encoded = len(base64.b64encode(data))
    sys.stdout.write("%s: %d bytes, %d bytes after base64, %d SendFile chunk(s) of at most %d bytes\n"
                     % (args.output, len(data), encoded, sendfile_chunks(data), SENDFILE_LIMIT))
    return 0
