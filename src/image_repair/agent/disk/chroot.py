"""Make a mounted guest root usable with chroot, and put everything back on exit.

/dev, /dev/pts, /proc, /sys are bound from the host, /run is a fresh tmpfs; a BIOS guest gets an
empty tmpfs over /sys/firmware/efi so its tools do not see the host's UEFI; /etc/resolv.conf is
a copy of the host's (the guest's original, file or symlink, immutable or not, is put back
exactly); SELinux on the host is set permissive while the guest is repaired; /dev/disk/by-uuid
links for the guest's filesystems are created for grub-mkconfig and removed afterwards. Every
change is pushed on the MountStack, so it is undone with the mounts.
"""
import os

from .. import log, runner

HOST_RESOLV_CONF = "/etc/resolv.conf"
HOST_EFI_DIR = "/sys/firmware/efi"
SELINUX_ENFORCE = "/sys/fs/selinux/enforce"
BY_UUID_DIR = "/dev/disk/by-uuid"
RESOLV_ASIDE = "resolv.conf.image-repair-original"
BINDS = ("/dev", "/dev/pts", "/proc", "/sys")


def prepare_chroot(stack, root, boot_mode, filesystems, read_only):
    """Bind the host's pseudo-filesystems under ``root`` and provide resolv.conf, by-uuid links.

    ``boot_mode`` is the guest's ("BIOS"/"UEFI"); ``filesystems`` the layout's list."""
    for source in BINDS:
        target = _mountpoint(stack, root, source, read_only)
        if target:
            stack.mount(source, target, bind=True)
    run_dir = _mountpoint(stack, root, "/run", read_only)
    if run_dir:
        stack.mount("tmpfs", run_dir, "tmpfs", "mode=0755,nosuid,nodev")
    if boot_mode != "UEFI":
        hide_host_efi(stack, root)
    if read_only:
        log.info("read-only: the guest's resolv.conf is left as it is")
    else:
        provide_resolv_conf(stack, root)
    set_selinux_permissive(stack)
    add_by_uuid_links(stack, filesystems)


def _mountpoint(stack, root, path, read_only):
    target = root + path
    if os.path.islink(target):
        log.warn("%s is a symlink in the guest; not binding it", path)
        return None
    if not os.path.isdir(target):
        if read_only:
            log.warn("%s is missing in the guest; not bound (read-only)", path)
            return None
        os.mkdir(target, 0o755)
        stack.push("created %s" % target, lambda: os.rmdir(target))
    return target


def hide_host_efi(stack, root, host_efi=HOST_EFI_DIR):
    """An empty tmpfs over <root>/sys/firmware/efi: grub-install and friends then take the guest
    for what it is, a BIOS guest, even on a UEFI repair host."""
    target = root + host_efi
    if not os.path.isdir(host_efi) or not os.path.isdir(target):
        return None
    stack.mount("tmpfs", target, "tmpfs", "ro,size=4k,mode=0555")
    return target


def _is_immutable(path):
    if os.path.islink(path) or not os.path.exists(path):
        return False
    status, output = runner.run(["lsattr", "-d", path], check=False)
    return status == 0 and "i" in output.split()[0] if output.split() else False


def provide_resolv_conf(stack, root, host_resolv=HOST_RESOLV_CONF):
    """Put a copy of the host's resolv.conf in the guest; the original is renamed aside (rename
    keeps a symlink a symlink, and owner, mode, times and inode of a file) and renamed back."""
    etc = root + "/etc"
    if os.path.islink(etc) or not os.path.isdir(etc):
        log.warn("the guest's /etc is not a directory; no resolv.conf provided")
        return
    guest = etc + "/resolv.conf"
    aside = etc + "/" + RESOLV_ASIDE
    try:
        with open(host_resolv, "rb") as handle:
            content = handle.read()
    except (IOError, OSError) as error:
        log.warn("cannot read the host's %s (%s); the guest's resolv.conf is left alone", host_resolv, error)
        return
    if os.path.lexists(aside):
        # A previous run was killed before it could clean up: its resolv.conf is ours, the
        # original is the one set aside. Put it back first (an immutable flag it had is lost).
        log.warn("restoring /etc/resolv.conf left aside by an interrupted run")
        if os.path.lexists(guest):
            os.unlink(guest)
        os.rename(aside, guest)
    immutable = _is_immutable(guest)
    if immutable:
        runner.run(["chattr", "-i", guest])
    had_original = os.path.lexists(guest)
    if had_original:
        os.rename(guest, aside)

    def restore():
        if os.path.lexists(guest):
            os.unlink(guest)
        if had_original:
            os.rename(aside, guest)
            if immutable:
                runner.run(["chattr", "+i", guest])

    stack.push("the guest's /etc/resolv.conf", restore)
    with open(guest, "wb") as handle:
        handle.write(content)
    os.chmod(guest, 0o644)


def set_selinux_permissive(stack, enforce_path=SELINUX_ENFORCE):
    """SELinux enforcing on the host would deny the chrooted tools; permissive until we are done."""
    try:
        with open(enforce_path) as handle:
            enforcing = handle.read().strip() == "1"
    except (IOError, OSError):
        return False
    if not enforcing:
        return False

    def write(value):
        with open(enforce_path, "w") as handle:
            handle.write(value)

    write("0")
    stack.push("SELinux permissive", lambda: write("1"))
    log.info("SELinux on this host set permissive while the guest is repaired")
    return True


def add_by_uuid_links(stack, filesystems, by_uuid_dir=BY_UUID_DIR):
    """/dev/disk/by-uuid/<uuid> -> the guest filesystem's host device, where missing (grub-mkconfig
    uses root=UUID only when that link exists). Created links and folders are removed on exit."""
    seen = set()
    for fs in filesystems:
        uuid, device = fs.get("uuid"), fs.get("device")
        if not uuid or not device or uuid in seen or fs.get("fstype") == "swap":
            continue
        seen.add(uuid)
        link = os.path.join(by_uuid_dir, uuid)
        if os.path.lexists(link):
            continue
        _make_dirs(stack, by_uuid_dir)
        os.symlink(device, link)
        stack.push("link %s" % link, lambda link=link: os.path.lexists(link) and os.unlink(link))


def _make_dirs(stack, path):
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        os.mkdir(folder, 0o755)
        stack.push("folder %s" % folder, lambda folder=folder: _remove_if_empty(folder))


def _remove_if_empty(folder):
    # another process may have put its own links there meanwhile: leave those alone
    try:
        os.rmdir(folder)
    except OSError:
        if os.path.isdir(folder) and os.listdir(folder):
            return
        raise
