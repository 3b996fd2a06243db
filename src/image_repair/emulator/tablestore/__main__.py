"""``python -m image_repair.emulator.tablestore serve --port 0``: the Tablestore emulator as a server."""
import sys

from .server import main

sys.exit(main())
