"""``python -m image_repair_lab.bootproof``: the boot proof from the command line.

    python -m image_repair_lab.bootproof cells                    # the matrix cells
    python -m image_repair_lab.bootproof run [CELL ...]           # run cells, update docs/boot-matrix.*
    python -m image_repair_lab.bootproof boot DISK.img [--bus nvme] [--firmware uefi] [--metadata-hostname NAME]

The test suite runs the same cells: ``scripts/test.sh -m boot``.
"""
import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path

from . import matrix
from .cells import CELLS, get
from .metadata import MetadataServer
from .qemu import BUSES, FIRMWARES, BootSpec, boot, dhcp_address
from .runcell import run_cell, skip_repair

DEFAULT_WORK = "/var/tmp/image-repair-bootproof"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m image_repair_lab.bootproof", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cells", help="list the boot matrix cells")
    run = sub.add_parser("run", help="run cells (default: all) and update the matrix files")
    run.add_argument("cells", nargs="*", help="cell names (default: every cell)")
    run.add_argument("--work", default=DEFAULT_WORK)
    run.add_argument("--matrix-dir", default=str(Path(__file__).resolve().parents[3] / "docs"))
    one = sub.add_parser("boot", help="boot one disk image and show what its serial log says")
    one.add_argument("image")
    one.add_argument("--bus", choices=BUSES, default="virtio")
    one.add_argument("--firmware", choices=FIRMWARES, default="bios")
    one.add_argument("--timeout", type=float, default=300)
    one.add_argument("--metadata-hostname", help="serve the AliYun metadata emulator with this hostname")
    one.add_argument("--work", default=DEFAULT_WORK)
    args = parser.parse_args(argv)

    if args.command == "cells":
        for cell in CELLS:
            print("%-20s %-45s %-22s %-6s %-4s%s%s" % (cell.name, cell.guest, cell.breakage, cell.bus, cell.firmware,
                                                       " growpart" if cell.growpart else "",
                                                       " metadata" if cell.metadata else ""))
        return 0
    if args.command == "run":
        chosen = [get(name) for name in args.cells] if args.cells else list(CELLS)
        records = []
        for cell in chosen:
            record = run_cell(cell, Path(args.work) / cell.name)
            records.append(record)
            print("%-20s %s" % (cell.name, record["verdict"]), flush=True)
        if not skip_repair():
            matrix.merge(Path(args.matrix_dir), records)
        return 0 if all(r["verdict"] == "pass" for r in records) else 1
    with ExitStack() as stack:
        metadata = stack.enter_context(MetadataServer(args.metadata_hostname)) if args.metadata_hostname else None
        spec = BootSpec(args.image, bus=args.bus, firmware=args.firmware, timeout=args.timeout,
                        metadata_port=metadata.port if metadata else None)
        result = boot(spec, Path(args.work), "manual")
    report = result.report
    print(json.dumps({"ended": result.ended, "seconds": result.seconds, "serial_log": str(result.serial_log),
                      "marker": report.marker, "root_source": report.root_source, "root_uuid": report.root_uuid,
                      "kernel_root": report.cmdline_root(), "eth0": report.eth0_addresses,
                      "kernel_console": report.kernel_console, "failures": report.failures,
                      "metadata_requests": len(metadata.requests) if metadata else None,
                      "expected_dhcp_address": dhcp_address(spec)}, indent=2))
    return 0 if report.marker else 1


if __name__ == "__main__":
    sys.exit(main())
