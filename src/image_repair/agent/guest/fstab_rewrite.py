"""/etc/fstab rewrite (pure): device names to UUID=, nofail where a missing device must not stop
the boot, malformed lines commented out. Text in, (text out, findings) out; the findings name the
lines, so detection is "the rewrite would change something".

Rules (offline-repair.md; the layout is the disk helper's, see agent/guest/context.py):
* ``/dev/sdX``, ``/dev/vdX``, ``/dev/xvdX``, ``/dev/hdX``, ``/dev/nvmeXnYpZ`` of the system disk,
  and ``/dev/disk/by-id|by-path/...-partN`` of the root's mount points, become ``UUID=`` of the
  filesystem (or swap) on that partition in the layout; on ECS the disk is ``vda`` or ``nvme0n1``
  whatever it was called before. The system disk is the one the ``/`` entry names (the first disk,
  ``sda``/``vda``/``nvme0n1``..., when ``/`` is given by UUID).
* nofail goes on every disk or network entry except ``/`` and ``/usr``, the only ones the boot
  cannot go on without: entries of other disks, filesystems the layout does not know, ``/boot``,
  ``/boot/efi`` and swap too (they are on the disk and keep working; nofail only matters when they
  are missing). ``x-systemd.device-timeout=10s`` (guests booting with systemd) goes only on the
  entries whose device may be absent (other disks, unknown devices), so a missing data disk costs
  10 s, not 90; the system disk's own filesystems keep systemd's default wait.
  ``noauto`` entries, pseudo filesystems (proc, tmpfs...) and bind mounts are left alone.
* a malformed line (fewer than 3 fields, more than 6, a non-numeric dump/pass field, an empty
  ``UUID=``, a mount point that is not a path, a source that is no path, tag or share) is commented out with a note, never deleted; a second entry for a mount point already
  mounted is commented out the same way (systemd ignores it, ``mount -a`` would stack it).
* CRLF line endings become LF (``1\\r`` is not a valid pass number); everything else (comments,
  tabs, spacing, a missing final newline) is kept.
"""
import re

MALFORMED = "# image-repair: malformed, commented: "
DUPLICATE = "# image-repair: duplicate mount point, commented: "
NEEDED_TO_BOOT = ("/", "/usr")
DEVICE_TIMEOUT = "x-systemd.device-timeout=10s"

PSEUDO_FS = ("proc", "sysfs", "devpts", "tmpfs", "devtmpfs", "cgroup", "cgroup2", "securityfs",
             "debugfs", "tracefs", "configfs", "pstore", "efivarfs", "mqueue", "hugetlbfs",
             "binfmt_misc", "fusectl", "bpf", "autofs", "rpc_pipefs", "nfsd", "none", "overlay",
             "squashfs", "iso9660", "udf", "ramfs")
NETWORK_FS = ("nfs", "nfs4", "cifs", "smbfs", "smb3", "glusterfs", "ceph", "fuse.sshfs", "sshfs",
              "davfs", "fuse.glusterfs", "9p", "lustre")

# /dev/sda2, /dev/vdb, /dev/xvda1, /dev/hda3 -> (disk, partition or None)
_LETTER_DEVICE = re.compile(r"^/dev/((?:sd|vd|xvd|hd)[a-z]+)(\d*)$")
_NVME_DEVICE = re.compile(r"^/dev/(nvme\d+n\d+)(?:p(\d+))?$")
_BY_ID_PART = re.compile(r"^/dev/disk/by-(?:id|path)/\S+-part(\d+)$")
FIRST_DISKS = ("sda", "vda", "xvda", "hda", "nvme0n1")


class Entry(object):
    """One fstab line split into fields, with the separators kept for a faithful rewrite."""

    def __init__(self, line):
        self.line = line
        pieces = re.split(r"(\s+)", line)
        self.lead = ""
        if pieces and pieces[0] == "":
            pieces.pop(0)
            self.lead = pieces.pop(0) if pieces else ""
        self.fields = pieces[0::2]
        self.seps = pieces[1::2]
        if self.fields and self.fields[-1] == "":
            self.fields.pop()

    def get(self, index, default=""):
        return self.fields[index] if index < len(self.fields) else default

    def set_options(self, options):
        if len(self.fields) >= 4:
            self.fields[3] = options
            return
        trailing = self.seps.pop() if len(self.seps) == len(self.fields) else ""
        self.seps.append(" ")
        self.fields.append(options)
        if trailing:
            self.seps.append(trailing)

    def render(self):
        out = [self.lead]
        for index, field in enumerate(self.fields):
            out.append(field)
            if index < len(self.seps):
                out.append(self.seps[index])
        return "".join(out)


def device_disk(spec):
    """(disk, partition number or None) for a kernel device name, else None."""
    for pattern in (_LETTER_DEVICE, _NVME_DEVICE):
        match = pattern.match(spec)
        if match:
            return match.group(1), int(match.group(2)) if match.group(2) else None
    return None


def partition_uuid(layout, device):
    """UUID of the filesystem (or swap) that device name ``device`` (``/dev/sda2``) names on the
    system disk, from the layout; None when it names no known partition."""
    found = device_disk(device)
    if not found or found[1] is None:
        return None
    fs = _Layout(layout).by_partition(found[1])
    return fs["uuid"] if fs else None


def malformed_reason(entry):
    fields = entry.fields
    if len(fields) < 3:
        return "fewer than 3 fields"
    if len(fields) > 6:
        return "more than 6 fields"
    for index in (4, 5):
        if len(fields) > index and not fields[index].isdigit():
            return "field %d is not a number" % (index + 1)
    spec, target, fstype = fields[0], fields[1], fields[2]
    if not (target.startswith("/") or target in ("none", "swap")):
        return "mount point %r is not a path" % target
    if not (spec.startswith("/") or "=" in spec or ":" in spec or fstype in PSEUDO_FS or fstype == "swap"
            or fstype.startswith("fuse")):
        return "source %r is neither a path, a TAG= nor a remote share" % spec
    for prefix in ("UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="):
        if spec.upper().startswith(prefix) and not spec[len(prefix):].strip("\"'"):
            return "empty " + prefix
    return None


class _Layout(object):
    """The layout's filesystems, indexed for the lookups fstab needs."""

    def __init__(self, layout):
        self.filesystems = list((layout or {}).get("filesystems") or [])

    def by_partition(self, number):
        for fs in self.filesystems:
            if not fs.get("lvm") and fs.get("partition") == number and fs.get("uuid"):
                return fs
        return None

    def knows(self, spec):
        """Whether a stable spec (UUID=, LABEL=, /dev/mapper/...) names something on this disk."""
        upper = spec.upper()
        for key, prefix in (("uuid", "UUID="), ("label", "LABEL="), ("partuuid", "PARTUUID="),
                            ("uuid", "/DEV/DISK/BY-UUID/"), ("label", "/DEV/DISK/BY-LABEL/"),
                            ("partuuid", "/DEV/DISK/BY-PARTUUID/")):
            if upper.startswith(prefix):
                value = spec[len(prefix):].strip("\"'")
                return any((fs.get(key) or "").lower() == value.lower() for fs in self.filesystems)
        for fs in self.filesystems:
            if fs.get("lvm"):
                vg, lv = fs["lvm"].split("/", 1)
                mapper = "/dev/mapper/%s-%s" % (vg.replace("-", "--"), lv.replace("-", "--"))
                if spec in (mapper, "/dev/%s/%s" % (vg, lv)):
                    return True
        return False


def _system_disk(entries):
    for entry in entries:
        if entry.get(1) == "/":
            found = device_disk(entry.get(0))
            if found:
                return found[0]
    return None


def _is_system_disk(disk, system_disk):
    return disk == system_disk if system_disk else disk in FIRST_DISKS


def _add_options(options, wanted):
    parts = [o for o in options.split(",") if o] if options else []
    added = [w for w in wanted if w.split("=")[0] not in [p.split("=")[0] for p in parts]]
    if not added:
        return options
    if parts == ["defaults"] or not parts:
        parts = ["defaults"]
    return ",".join(parts + added)


def rewrite_fstab(text, layout, systemd=True):
    """Return (new text, findings, blockers). ``layout`` as produced by the disk layer;
    ``systemd``: the guest boots with systemd (x-systemd.device-timeout is understood).

    ``findings`` describe every line that needs (or got) attention; ``blockers`` are the problems
    no rewrite can solve (``/`` names a partition the disk does not have): the item is at risk
    while they remain."""
    lines = (text or "").splitlines(True)
    findings = []
    if any(line.endswith("\r\n") for line in lines):
        findings.append("CRLF line endings converted to LF")
    layout_index = _Layout(layout)
    bodies = [line.rstrip("\r\n") for line in lines]
    endings = ["\n" if line.endswith("\n") else "" for line in lines]
    parsed = [None if not b.strip() or b.lstrip().startswith("#") else Entry(b) for b in bodies]
    system_disk = _system_disk([e for e in parsed if e and len(e.fields) >= 2])
    mounted = set()
    blockers = []
    out = []
    for number, (body, ending, entry) in enumerate(zip(bodies, endings, parsed), 1):
        if entry is None:
            out.append(body + ending)
            continue
        reason = malformed_reason(entry)
        if reason:
            out.append(MALFORMED + body + ending)
            findings.append("line %d malformed (%s): commented out" % (number, reason))
            continue
        spec, target, fstype = entry.fields[0], entry.fields[1], entry.fields[2]
        options = entry.get(3, "defaults")
        if target not in ("none", "swap") and fstype != "swap":
            if target in mounted:
                out.append(DUPLICATE + body + ending)
                findings.append("line %d: %s is mounted by an earlier line: commented out" % (number, target))
                continue
            mounted.add(target)
        if fstype in PSEUDO_FS or "bind" in options.split(",") or "rbind" in options.split(","):
            out.append(body + ending)
            continue
        network = fstype in NETWORK_FS or fstype.startswith("nfs")
        on_this_disk = network is False and _resolve(entry, layout_index, system_disk, number, findings)
        if target not in NEEDED_TO_BOOT and "noauto" not in options.split(","):
            # The short device timeout only for devices that may be absent: a filesystem on the
            # system disk appears with the root, and a 10 s limit can run out on a slow first
            # boot (seen under TCG: /boot and /boot/efi left unmounted).
            short_timeout = systemd and not network and not on_this_disk
            wanted = ["nofail"] + ([DEVICE_TIMEOUT] if short_timeout else [])
            new_options = _add_options(options, wanted)
            if new_options != options:
                entry.set_options(new_options)
                why = "network filesystem" if network else (
                    "not on this disk" if not on_this_disk else "not needed to boot")
                findings.append("line %d: %s (%s) gets %s" % (number, target, why, ",".join(wanted)))
        elif not network and not on_this_disk and target in NEEDED_TO_BOOT:
            blockers.append("line %d: %s is given as %s, which is not on this disk" % (number, target, spec))
        out.append(entry.render() + ending)
    return "".join(out), findings + blockers, blockers


def _resolve(entry, layout, system_disk, number, findings):
    """Turn a device-name spec into UUID= when the layout knows the partition. Returns whether the
    entry's filesystem is on this disk."""
    spec = entry.fields[0]
    target = entry.fields[1]
    device = device_disk(spec)
    partition = None
    if device:
        disk, partition = device
        if not _is_system_disk(disk, system_disk):
            findings.append("line %d: %s names another disk (%s): kept" % (number, spec, disk))
            return False
    else:
        match = _BY_ID_PART.match(spec)
        if not match:
            # /dev/root: the kernel's alias of whatever root= says (some appliance images)
            return spec == "/dev/root" or layout.knows(spec) or not layout.filesystems
        partition = int(match.group(1))
        mounted_there = [fs for fs in layout.filesystems if fs.get("mountpoint") == target]
        if not any(fs.get("partition") == partition for fs in mounted_there):
            findings.append("line %d: %s is not known on this disk: kept" % (number, spec))
            return False
    fs = layout.by_partition(partition)
    if fs is None:
        findings.append("line %d: %s: no filesystem on partition %s of this disk" % (number, spec, partition))
        return False
    entry.fields[0] = "UUID=" + fs["uuid"]
    findings.append("line %d: %s -> UUID=%s (%s)" % (number, spec, fs["uuid"], target))
    return True
