"""``python -m image_repair_lab.testimages build [--suite ...] [--break NAME ...] [--copy-to FILE]``"""
import argparse
import signal
import sys
import time

from . import BREAKAGES, Recipe, broken_image, copy_image
from .builder import prune_stale_images
from .recipe import FIRMWARES, INITRAMFS_TOOLS, KERNELS, LAYOUTS, ROOT_FSTYPES, SUITES


def _exit_on_signal(signum, frame):
    # SIGTERM/SIGHUP unwind like Ctrl-C: every mount and loop device of the build is released.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    parser = argparse.ArgumentParser(prog="python -m image_repair_lab.testimages",
                                     description="Build (or reuse from the cache) a Debian test disk image.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build or reuse an image; prints its path")
    build.add_argument("--suite", choices=sorted(SUITES), default="bookworm")
    build.add_argument("--firmware", choices=FIRMWARES, default="bios")
    build.add_argument("--initramfs", choices=INITRAMFS_TOOLS, default="initramfs-tools")
    build.add_argument("--rootfs", choices=ROOT_FSTYPES, default="ext4")
    build.add_argument("--layout", choices=LAYOUTS, default="plain")
    build.add_argument("--kernel", choices=KERNELS, default="linux-image-cloud-amd64")
    build.add_argument("--package", action="append", default=[], help="extra Debian package (repeatable)")
    build.add_argument("--break", dest="breakages", action="append", default=[], choices=sorted(BREAKAGES),
                       help="apply a named breakage (repeatable, in order)")
    build.add_argument("--copy-to", metavar="FILE", help="also make a sparse copy to FILE (to modify)")
    sub.add_parser("breakages", help="list the named breakages")
    sub.add_parser("prune", help="remove cached images of older builder versions")
    args = parser.parse_args(argv)
    if args.command == "prune":
        for path in prune_stale_images():
            print("removed %s" % path)
        return 0
    if args.command == "breakages":
        for name, function in BREAKAGES.items():
            print("%-22s %s" % (name, " ".join((function.__doc__ or "").split())))
        return 0
    recipe = Recipe(suite=args.suite, firmware=args.firmware, initramfs=args.initramfs, rootfs=args.rootfs,
                    layout=args.layout, kernel=args.kernel, extra_packages=tuple(args.package))
    started = time.time()
    image = broken_image(recipe, args.breakages)
    print(image.path)
    if args.copy_to:
        print(copy_image(image.path, args.copy_to))
    sys.stderr.write("ready in %.0f s\n" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
