"""``python3 -m image_repair.agent`` and the zipapp entry point."""
import sys

from .cli import main

sys.exit(main(prog="image-repair-agent"))
