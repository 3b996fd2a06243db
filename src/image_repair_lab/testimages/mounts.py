"""Loop devices, mounts and /dev/disk/by-uuid links for building and breaking test images.

This machine has no partition scan and no device-mapper: every filesystem of an image (a partition,
or an LVM logical volume) is attached as an *offset* loop device (``losetup -o --sizelimit``).
:class:`Mounts` undoes everything it made, in reverse order, on success and on every error.
"""
import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path

from image_repair.agent import log
from image_repair.agent.runner import run, run_in_chroot

BY_UUID = Path("/dev/disk/by-uuid")


class Mounts:
    """A stack of loop devices, mounts, links and temp dirs, released in reverse on exit."""

    def __init__(self):
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        run(["sync"], check=False)
        self._stack.close()
        return False

    def loop(self, image, offset: int = 0, size: int = None) -> str:
        argv = ["losetup", "--find", "--show", "--offset", str(offset)]
        if size is not None:
            argv += ["--sizelimit", str(size)]
        _, out = run(argv + [str(image)])
        device = out.strip()
        self._stack.callback(_detach, device)
        return device

    def mount(self, source, target, fstype=None, options=None):
        Path(target).mkdir(parents=True, exist_ok=True)
        argv = ["mount"] + (["-t", fstype] if fstype else []) + (["-o", options] if options else [])
        run(argv + [str(source), str(target)])
        self._stack.callback(_unmount, str(target))

    def device_alias(self, device: str) -> str:
        """A second block node for ``device``, named /dev/image-repair-loopN, to mount from.

        Debian's /etc/grub.d/10_linux maps a root on /dev/loop[0-9] to its backing file and, for
        a file, writes NO menu entry; mounted from another node name, grub-mkconfig works."""
        alias = "/dev/image-repair-" + os.path.basename(device)
        if os.path.lexists(alias):
            os.unlink(alias)
        os.mknod(alias, 0o600 | stat.S_IFBLK, os.stat(device).st_rdev)
        self._stack.callback(_remove_node, Path(alias))
        return alias

    def tempdir(self, prefix="image-repair-") -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self._stack.callback(_remove_dir, path)
        return path

    def chroot_binds(self, root: Path):
        """/dev, /dev/pts, /proc, /sys and a fresh /run, so the guest's tools work in a chroot."""
        for name in ("dev", "dev/pts", "proc", "sys"):
            self.mount("/" + name, root / name, options="bind")
        self.mount("tmpfs", root / "run", fstype="tmpfs", options="mode=0755")

    def uuid_link(self, uuid: str, device: str):
        """/dev/disk/by-uuid/<uuid> -> device, as udev would make it (grub-mkconfig checks it)."""
        BY_UUID.mkdir(parents=True, exist_ok=True)
        link = BY_UUID / uuid
        if link.is_symlink() or link.exists():
            return  # someone else's (or udev's): leave it
        link.symlink_to(device)
        self._stack.callback(_unlink, link)


def _detach(device):
    for attempt in range(5):
        status, _ = run(["losetup", "-d", device], check=False)
        if status == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    log.warn("could not detach %s", device)


def _unmount(target):
    for attempt in range(5):
        status, _ = run(["umount", target], check=False)
        if status == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    log.warn("lazy unmount of %s (still busy)", target)
    run(["umount", "-l", target], check=False)


def _remove_dir(path: Path):
    try:
        path.rmdir()
    except OSError as error:
        log.warn("left %s: %s", path, error)


def _unlink(link: Path):
    if link.is_symlink():
        link.unlink()


def _remove_node(node: Path):
    if node.is_block_device():
        node.unlink()


def mount_options(fstype: str, read_only: bool) -> str:
    """xfs always ``nouuid`` (copies of one image may be mounted at once); read-only without replay."""
    options = []
    if read_only:
        options += ["ro", "noload"] if fstype.startswith("ext") else ["ro"]
        if fstype == "xfs":
            options.append("norecovery")
    if fstype == "xfs":
        options.append("nouuid")
    return ",".join(options) or "rw"


def kernel_supports(fstype: str) -> bool:
    """Whether this kernel mounts ``fstype`` (this machine's has no vfat, for one)."""
    with open("/proc/filesystems") as handle:
        known = {line.split()[-1] for line in handle if line.strip()}
    if fstype in known:
        return True
    run(["modprobe", fstype], check=False)
    with open("/proc/filesystems") as handle:
        return fstype in {line.split()[-1] for line in handle if line.strip()}


def mount_image(mounts: Mounts, image, manifest: dict, read_only=False, chroot=False) -> Path:
    """Mount the guest filesystems of ``image`` as its fstab would (/, then /boot, then /boot/efi).

    Returns the host directory of the guest root; ``chroot=True`` also binds /dev, /proc, /sys, /run
    and links /dev/disk/by-uuid for the guest's filesystems."""
    root = mounts.tempdir("image-repair-guest-")
    by_depth = sorted(manifest["filesystems"], key=lambda fs: fs["mountpoint"].count("/") + len(fs["mountpoint"]))
    for fs in by_depth:
        if not kernel_supports(fs["fstype"]):
            log.info("testimages: %s (%s) not mounted: this kernel has no %s", fs["mountpoint"], fs["fstype"],
                     fs["fstype"])
            continue
        device = mounts.device_alias(mounts.loop(image, fs["offset"], fs["size"]))
        target = root / fs["mountpoint"].lstrip("/")
        mounts.mount(device, target, fstype=fs["fstype"], options=mount_options(fs["fstype"], read_only))
        if chroot:
            mounts.uuid_link(fs["uuid"], device)
    if chroot:
        mounts.chroot_binds(root)
    return root


def in_chroot(root: Path, argv, label=None, check=True, input_text=None, timeout=None):
    return run_in_chroot(str(root), list(argv), check=check, label=label, input_text=input_text, timeout=timeout)


def remove_tree(path: Path):
    """rm -rf that refuses to cross into a mount left behind (never delete through a bind of /dev)."""
    if not path.exists():
        return
    _, mounted = run(["findmnt", "-rn", "-o", "TARGET"], check=False)
    prefix = str(path.resolve()) + os.sep
    if any(line.startswith(prefix) for line in mounted.splitlines()):
        raise RuntimeError("refusing to remove %s: something is still mounted under it" % path)
    run(["rm", "-rf", "--one-file-system", str(path)])
