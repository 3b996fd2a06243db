"""Find the guest's root filesystem among its volumes and mount the guest as its fstab says.

Every candidate is mounted read-only to look for ``/etc/fstab`` plus a release file; btrfs is
searched through its default subvolume and the usual root subvolumes (@, @root, root). The
other filesystems the repair needs (/boot, /boot/efi, /usr, /var and below) are then mounted
where the guest's own fstab puts them; swap, network, bind and virtual entries are skipped,
and entries naming disks that are not here are logged.
"""
import os
import re

from .. import log, runner
from ..errors import AgentError
from ..guestfs import GuestFS
from .blockdev import unescape_mount_field
from .mounts import MountStack

ROOT_FSTYPES = ("ext4", "ext3", "ext2", "xfs", "btrfs", "reiserfs", "jfs")
RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release", "/etc/redhat-release", "/etc/centos-release",
                 "/etc/system-release", "/etc/SuSE-release", "/etc/debian_version", "/etc/lsb-release")
BTRFS_ROOT_SUBVOLUMES = ("@", "@root", "root")
NEEDED_MOUNTPOINTS = ("/boot", "/usr", "/var")   # and everything below them
SKIPPED_FSTYPES = ("swap", "nfs", "nfs4", "cifs", "smbfs", "glusterfs", "ceph", "sshfs", "tmpfs",
                   "proc", "sysfs", "devpts", "devtmpfs", "none", "auto.master", "iso9660", "udf")
SYSTEM_DISK_NAMES = ("sda", "vda", "xvda", "hda", "nvme0n1", "mmcblk0")
_DISK_NAME = re.compile(r"^/dev/((?:[shv]d|xvd)[a-z]+|(?:nvme\d+n\d+|mmcblk\d+|loop\d+))(?:p?(\d+))?$")


def mount_options(fstype, read_only, subvol=None):
    """Safe options for a guest filesystem: no journal replay when read-only, never a UUID clash."""
    options = ["ro"] if read_only else []
    if fstype in ("ext3", "ext4") and read_only:
        options.append("noload")
    if fstype == "xfs":
        options.append("nouuid")
        if read_only:
            options.append("norecovery")
    if fstype == "btrfs" and subvol:
        options.append("subvol=%s" % subvol)
    return ",".join(options) or None


# Read-only btrfs must not replay its log (it fails on a read-only device): the option is
# rescue=nologreplay since Linux 5.9, plain nologreplay before (and gone in recent kernels).
BTRFS_NO_LOG_REPLAY = ("rescue=nologreplay", "nologreplay", None)


def mount_guest_fs(stack, device, target, fstype, read_only, subvol=None, subvolid=None):
    """Mount a guest filesystem with :func:`mount_options` (``subvolid`` for btrfs probing)."""
    options = mount_options(fstype, read_only, subvol)
    device = stack.block_alias(device)
    if subvolid is not None:
        options = ",".join(filter(None, [options, "subvolid=%d" % subvolid]))
    if fstype != "btrfs" or not read_only:
        return stack.mount(device, target, fstype, options)
    for extra in BTRFS_NO_LOG_REPLAY:
        try:
            return stack.mount(device, target, fstype, ",".join(filter(None, [options, extra])))
        except AgentError:
            if extra is None:
                raise
    return None


class FstabEntry(object):
    def __init__(self, spec, mountpoint, fstype, options):
        self.spec = spec
        self.mountpoint = mountpoint
        self.fstype = fstype
        self.options = options.split(",")

    def option(self, name):
        for option in self.options:
            if option.startswith(name + "="):
                return option.split("=", 1)[1]
        return None

    @property
    def subvol(self):
        value = self.option("subvol")
        return value.lstrip("/") if value else None


def parse_fstab(text):
    entries = []
    for line in (text or "").splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or len(fields) < 3:
            continue
        mountpoint = unescape_mount_field(fields[1])  # fstab escapes spaces as mountinfo does
        entries.append(FstabEntry(fields[0], mountpoint, fields[2], fields[3] if len(fields) > 3 else "defaults"))
    return entries


def _decode_mapper(name):
    """vg-lv from a /dev/mapper name, where a dash inside a name is doubled."""
    parts = re.split(r"(?<!-)-(?!-)", name)
    if len(parts) != 2:
        return None
    return "%s/%s" % (parts[0].replace("--", "-"), parts[1].replace("--", "-"))


def resolve_spec(spec, volumes, system_disk=None):
    """The volume an fstab/grub device spec names among ``volumes``, or None."""
    def first(test):
        for volume in volumes:
            if test(volume):
                return volume
        return None

    for prefix, attribute in (("UUID=", "uuid"), ("LABEL=", "label"), ("PARTUUID=", "partuuid"),
                              ("PARTLABEL=", "partlabel"), ("/dev/disk/by-uuid/", "uuid"),
                              ("/dev/disk/by-label/", "label"), ("/dev/disk/by-partuuid/", "partuuid"),
                              ("/dev/disk/by-partlabel/", "partlabel")):
        if spec.startswith(prefix):
            wanted = spec[len(prefix):].strip('"').lower()
            return first(lambda v: (getattr(v, attribute) or "").lower() == wanted)
    if spec.startswith("/dev/mapper/"):
        name = _decode_mapper(spec[len("/dev/mapper/"):])
        return first(lambda v: v.lvm == name) if name else None
    match = _DISK_NAME.match(spec)
    if match:
        disk, number = match.group(1), match.group(2)
        if disk != system_disk if system_disk else disk not in SYSTEM_DISK_NAMES:
            return None  # another disk of the guest (sdb1): not here
        if number is None:
            return first(lambda v: v.partition is None and v.lvm is None)
        return first(lambda v: v.number == int(number))
    parts = spec.split("/")
    if len(parts) == 4 and parts[:2] == ["", "dev"]:
        return first(lambda v: v.lvm == "%s/%s" % (parts[2], parts[3]))
    return None


def system_disk_of(entries):
    """The guest's name for its system disk, from a device-named "/" entry (e.g. "vda")."""
    for entry in entries:
        match = _DISK_NAME.match(entry.spec)
        if entry.mountpoint == "/" and match:
            return match.group(1)
    return None


def _looks_like_root(path):
    fs = GuestFS(path)
    return fs.isfile("/etc/fstab") and any(fs.lexists(name) for name in RELEASE_FILES)


def _btrfs_subvolume_paths(top):
    """Root candidates inside a btrfs mounted with subvolid=5: the default subvolume first."""
    paths = []
    status, output = runner.run(["btrfs", "subvolume", "get-default", top], check=False)
    match = re.search(r"\bpath (\S+)", output) if status == 0 else None
    if match:
        paths.append(match.group(1))
    paths.extend(p for p in BTRFS_ROOT_SUBVOLUMES if p not in paths)
    paths.append(None)  # the top level itself
    return paths


def find_root(volumes, scratch):
    """(volume, btrfs subvolume or None) of the guest's root; AgentError when there is none."""
    found = []
    tried = []
    for index, volume in enumerate(v for v in volumes if v.fstype in ROOT_FSTYPES):
        point = os.path.join(scratch, "probe%d" % index)
        os.mkdir(point)
        probe_stack = MountStack()  # its own stack: each probe mount goes as soon as it is read
        try:
            # btrfs: the top level (subvolid 5) shows every subvolume
            mount_guest_fs(probe_stack, volume.device, point, volume.fstype, True,
                           subvolid=5 if volume.fstype == "btrfs" else None)
        except AgentError as error:
            probe_stack.close()  # whatever the failed attempt set up (a device node) goes now
            log.warn("cannot mount %s (%s on %s) to look for the root: %s",
                     volume.device, volume.fstype, volume.where(), error)
            tried.append("%s (%s): not mountable" % (volume.where(), volume.fstype))
            continue
        with probe_stack:
            subvolumes = _btrfs_subvolume_paths(point) if volume.fstype == "btrfs" else [None]
            for subvol in subvolumes:
                top = os.path.join(point, subvol) if subvol else point
                if _looks_like_root(top):
                    found.append((volume, subvol, _names_itself(top, volume, volumes)))
                    break
            else:
                tried.append("%s (%s)" % (volume.where(), volume.fstype))
        os.rmdir(point)
    if not found:
        raise AgentError("no root filesystem (one with /etc/fstab and a release file) on this disk; "
                         "looked at: %s" % (", ".join(tried) or "no Linux filesystem found"))
    # A rescue or old system next to the real one: prefer the root whose own fstab names it as "/".
    found.sort(key=lambda candidate: not candidate[2])
    if len(found) > 1:
        log.warn("several root candidates (%s); using %s",
                 ", ".join(v.where() for v, _s, _n in found), found[0][0].where())
    return found[0][0], found[0][1]


def _names_itself(top, volume, volumes):
    """Whether the fstab under ``top`` mounts ``volume`` as "/"."""
    entries = parse_fstab(GuestFS(top).read_text("/etc/fstab", ""))
    system_disk = system_disk_of(entries)
    return any(e.mountpoint == "/" and resolve_spec(e.spec, volumes, system_disk) is volume for e in entries)


def _mount_target(root, mountpoint, read_only):
    """Host directory for guest ``mountpoint`` (symlinks resolved inside the guest)."""
    target = GuestFS(root).host_path(mountpoint)
    if not os.path.isdir(target):
        if read_only:
            return None
        log.info("creating the missing mount point %s in the guest", mountpoint)
        os.makedirs(target, 0o755)
    return target


def _needed(mountpoint):
    return any(mountpoint == p or mountpoint.startswith(p + "/") for p in NEEDED_MOUNTPOINTS)


def mount_fstab(stack, root, root_volume, volumes, read_only):
    """Mount the guest's /boot, /boot/efi, /usr, /var... under ``root``; returns the fstab entries
    with the volume each resolved to, [(entry, volume or None)], and the mount points mounted."""
    entries = parse_fstab(GuestFS(root).read_text("/etc/fstab", ""))
    system_disk = system_disk_of(entries)
    resolved = []
    mounted = set(["/"])
    for entry in entries:
        volume = resolve_spec(entry.spec, volumes, system_disk)
        resolved.append((entry, volume))
    for entry, volume in sorted(resolved, key=lambda pair: pair[0].mountpoint.count("/")):
        if (entry.fstype in SKIPPED_FSTYPES or entry.fstype.startswith("fuse") or entry.mountpoint == "/"
                or not entry.mountpoint.startswith("/") or "bind" in entry.options or "rbind" in entry.options):
            continue
        if volume is None:
            log.info("fstab: %s for %s is not on this disk; not mounted", entry.spec, entry.mountpoint)
            continue
        if not _needed(entry.mountpoint):
            log.info("fstab: %s not needed for the repair; not mounted", entry.mountpoint)
            continue
        if volume is root_volume and volume.fstype != "btrfs":
            continue
        target = _mount_target(root, entry.mountpoint, read_only)
        if target is None:
            log.warn("fstab: mount point %s is missing in the guest; not mounted", entry.mountpoint)
            continue
        try:
            mount_guest_fs(stack, volume.device, target, volume.fstype, read_only, entry.subvol)
        except AgentError as error:
            if kernel_supports(volume.fstype):
                raise AgentError("cannot mount the guest's %s (%s on %s): %s"
                                 % (entry.mountpoint, volume.fstype, volume.where(), error))
            # e.g. no vfat in this host's kernel: the rest of the repair can still go on
            log.warn("this host's kernel cannot mount %s: the guest's %s is not mounted",
                     volume.fstype, entry.mountpoint)
            continue
        mounted.add(entry.mountpoint)
        log.info("mounted %s (%s on %s) at %s", volume.device, volume.fstype, volume.where(), entry.mountpoint)
    return resolved, mounted


def kernel_supports(fstype):
    """Whether the running kernel knows ``fstype`` (after the failed mount tried to load it)."""
    try:
        with open("/proc/filesystems") as handle:
            return any(line.split()[-1] == fstype for line in handle if line.split())
    except (IOError, OSError):
        return True


def build_layout(table, disk_device, volumes, root_volume, root_subvol, resolved, mounted):
    """The layout dict of the common brief (one entry per guest mount of a volume), plus
    "mounted": whether that filesystem is mounted under the guest root now."""
    filesystems = _layout_filesystems(volumes, root_volume, root_subvol, resolved, mounted)
    esp = any(v.partition is not None and v.partition.esp for v in volumes) or any(
        p.esp for p in table.partitions)
    described = [_describe_mount(fs) for fs in filesystems
                 if fs["mountpoint"] and fs["mountpoint"].startswith("/")]
    return {"summary": "; ".join([table.kind] + described), "table": table.kind, "disk_device": disk_device,
            "boot_mode_hint": "UEFI" if esp else "BIOS", "filesystems": filesystems}


def _layout_filesystems(volumes, root_volume, root_subvol, resolved, mounted):
    """One entry per guest mount of a volume (the root's first), one for each volume the guest's
    fstab does not mount; sorted by mount point, the unmounted ones last."""

    def entry(volume, mountpoint, subvol):
        return {"device": volume.device, "partition": volume.number, "lvm": volume.lvm,
                "fstype": volume.fstype, "uuid": volume.uuid, "label": volume.label,
                "partuuid": volume.partuuid, "mountpoint": mountpoint, "subvol": subvol,
                "mounted": mountpoint in mounted}

    filesystems = [entry(root_volume, "/", root_subvol)]
    for volume in volumes:
        mounts = [(e.mountpoint, e.subvol) for e, v in resolved if v is volume and e.mountpoint != "/"]
        for mountpoint, subvol in mounts:
            filesystems.append(entry(volume, mountpoint if mountpoint.startswith("/") else None, subvol))
        if not mounts and volume is not root_volume:
            filesystems.append(entry(volume, None, None))
    filesystems.sort(key=lambda f: (f["mountpoint"] is None, f["mountpoint"] or "", f["partition"] or 0))
    return filesystems


def _describe_mount(fs):
    """"/home btrfs (subvolume @home) on partition 1", "/ ext4 on LV vg/root"..."""
    what = fs["fstype"] + (" (subvolume %s)" % fs["subvol"] if fs["subvol"] else "")
    where = ("LV %s" % fs["lvm"] if fs["lvm"] else
             "partition %d" % fs["partition"] if fs["partition"] else "the whole disk")
    return "%s %s on %s" % (fs["mountpoint"], what, where)
