"""Read a test guest's serial log: the boot marker, ``findmnt /``, ``ip -4 addr show eth0``,
the kernel command line, and the signs of a boot that went wrong.

The marker lines (planted by image_repair_lab.testimages, docs/test-images.md) all start with
``IMAGE-REPAIR-BOOT``; kernel lines reach ttyS0 only with ``console=ttyS0`` on the command line,
which is itself one of the things a repaired guest must have.
"""
import re
from dataclasses import dataclass, field
from typing import Optional

from image_repair_lab.testimages.guestconfig import MARKER_PREFIX

# Patterns that mean the boot has failed for good: qemu may be stopped as soon as one shows.
FAILURE_PATTERNS = (
    ("initramfs gave up waiting for root", re.compile(r"Gave up waiting for (root|suspend/resume) (file system )?device")),
    ("initramfs dropped to a shell", re.compile(r"ALERT! .* does not exist\.\s+Dropping to a shell|\(initramfs\) ")),
    ("dracut timeout", re.compile(r"dracut-initqueue.*[Tt]imeout|Could not boot\.")),
    ("emergency mode", re.compile(r"You are in emergency mode|Entering emergency mode|Give root password for maintenance"
                                  r"|Press Enter for maintenance|Cannot open access to console, the root account is locked")),
    ("kernel panic", re.compile(r"Kernel panic - not syncing|VFS: Unable to mount root fs")),
    # GRUB found no usable configuration (for example a grub.cfg without menu entries).
    ("grub prompt", re.compile(r"^(grub|grub rescue)> ", re.M)),
)
# A CPU exception in the guest's kernel (the x86 trap handlers' own wording). Before the kernel runs
# init it has read nothing of the disk but the kernel and initramfs GRUB loaded, which it already
# unpacked or rejected without an exception: such a crash there is qemu's TCG failing (seen: a double
# fault in kthreadd at 1.1 s, in the SLUB allocator's cmpxchg16b, on a kernel that booted the same
# disk a minute before), not what a repair wrote. See emulator_fault().
KERNEL_EXCEPTION = re.compile(r"traps: PANIC: double fault|Oops: |general protection fault|BUG: unable to handle")
INIT_STARTED = re.compile(r"Run /\S*init as init process|Freeing unused kernel image")
# systemd's console status lines for a mount that did not happen (its device timed out, fsck...)
FAILED_MOUNT = re.compile(r"(?:Dependency failed for|Failed to mount) (\S+\.mount)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class BootReport:
    """What a serial log shows. ``healthy(...)`` applies the acceptance of a repaired boot."""

    marker: bool = False
    complete: bool = False               # the marker's closing "end" line was seen
    kernel: Optional[str] = None         # uname -r, from the marker line
    hostname: Optional[str] = None       # from the marker (when it reports it)
    root_source: Optional[str] = None    # findmnt SOURCE, e.g. /dev/vda1
    root_fstype: Optional[str] = None
    root_uuid: Optional[str] = None
    root_options: Optional[str] = None
    eth0_exists: bool = False
    eth0_addresses: list = field(default_factory=list)   # ["10.0.2.15/24"]
    kernel_cmdline: Optional[str] = None  # "Kernel command line:" seen on ttyS0
    failures: list = field(default_factory=list)         # names from FAILURE_PATTERNS
    failed_mounts: list = field(default_factory=list)    # systemd units, e.g. ["boot-efi.mount"]

    @property
    def kernel_console(self) -> bool:
        return self.kernel_cmdline is not None

    def cmdline_root(self) -> Optional[str]:
        match = re.search(r"(?:^|\s)root=(\S+)", self.kernel_cmdline or "")
        return match.group(1) if match else None

    def problems(self, root_uuid: str, address: str = "10.0.2.15", hostname: Optional[str] = None,
                 lvm_root: Optional[str] = None, disk_mounts: tuple = ()) -> list:
        """Why this boot is not a healthy ECS boot ([] when it is): marker, root by UUID, eth0 by DHCP,
        kernel console on ttyS0, the system disk's other filesystems (``disk_mounts``, mount points
        such as /boot/efi) mounted, and (when given) the hostname from the metadata service. A mount
        of a disk that is not attached may fail (nofail): only the system disk's count."""
        found = []
        if not self.marker:
            found.append("no boot marker" + (" (%s)" % ", ".join(self.failures) if self.failures else ""))
            return found
        if self.root_uuid != root_uuid:
            found.append("root filesystem UUID %s, expected %s" % (self.root_uuid, root_uuid))
        if not self.kernel_console:
            found.append("no kernel console on ttyS0")
        else:
            stable = ("UUID=" + root_uuid,) + ((lvm_root,) if lvm_root else ())
            if self.cmdline_root() not in stable:
                found.append("kernel root=%s, expected %s" % (self.cmdline_root(), " or ".join(stable)))
        if not any(a.split("/")[0] == address for a in self.eth0_addresses):
            found.append("eth0 has %s, expected DHCP %s" % (
                ", ".join(self.eth0_addresses) or ("no IPv4 address" if self.eth0_exists else "no eth0"), address))
        failed = [unit for unit in self.failed_mounts if unit in {mount_unit(m) for m in disk_mounts}]
        if failed:
            # e.g. /boot or /boot/efi not mounted: the next kernel update would go to the wrong place
            found.append("mounts failed: %s" % ", ".join(failed))
        if hostname and self.hostname != hostname:
            found.append("hostname %s, expected %s from the metadata service" % (self.hostname, hostname))
        return found


def mount_unit(mountpoint: str) -> str:
    """systemd's unit name of a mount point: /boot/efi -> boot-efi.mount (plain paths only)."""
    path = mountpoint.strip("/")
    return (path.replace("-", "\\x2d").replace("/", "-") if path else "-") + ".mount"


def clean(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def first_failure(text: str) -> Optional[str]:
    """The name of the first failure pattern found in ``text`` (a raw or cleaned log), or None."""
    text = clean(text)
    for name, pattern in FAILURE_PATTERNS:
        if pattern.search(text):
            return name
    return None


def failures(text: str) -> list:
    """The names of every failure pattern found in ``text`` (a serial log or a screen's text)."""
    text = clean(text)
    return [name for name, pattern in FAILURE_PATTERNS if pattern.search(text)]


def emulator_fault(text: str) -> Optional[str]:
    """Why this log shows qemu failing rather than the guest (None when it does not): a kernel CPU
    exception before init started and before any root mount was tried. The boot proof boots such a
    guest once more (qemu.boot) and keeps this log beside the new one; a second one fails the boot."""
    text = clean(text)
    exception = KERNEL_EXCEPTION.search(text)
    if exception is None or "VFS: Unable to mount root fs" in text:
        return None
    init = INIT_STARTED.search(text)
    if init is not None and init.start() < exception.start():
        return None
    return "the guest's kernel crashed before init (%s): qemu TCG, not the disk" % exception.group(0).strip(": ")


def marker_complete(text: str) -> bool:
    return re.search(r"^%s end\s*$" % MARKER_PREFIX, clean(text), re.M) is not None


def parse(text: str) -> BootReport:
    text = clean(text)
    report = BootReport()
    report.failures = failures(text)
    report.failed_mounts = sorted(set(FAILED_MOUNT.findall(text)))
    cmdline = re.search(r"Kernel command line: (.*)$", text, re.M)
    if cmdline:
        report.kernel_cmdline = cmdline.group(1).strip()
    findmnt_header = None
    for line in text.splitlines():
        index = line.find(MARKER_PREFIX + " ")
        if index < 0:
            continue
        body = line[index + len(MARKER_PREFIX) + 1:]
        if body.startswith("marker"):
            report.marker = True
            match = re.search(r"kernel=(\S+)", body)
            report.kernel = match.group(1) if match else None
        elif body.startswith("hostname"):
            report.hostname = body.split("=", 1)[1].strip() if "=" in body else None
        elif body.startswith("findmnt: "):
            columns = body[len("findmnt: "):].split()
            if columns[:1] == ["TARGET"]:
                findmnt_header = columns
            elif findmnt_header and columns[:1] == ["/"]:
                row = dict(zip(findmnt_header, columns)) if len(columns) == len(findmnt_header) else \
                    _findmnt_short_row(findmnt_header, columns)
                report.root_source, report.root_fstype = row.get("SOURCE"), row.get("FSTYPE")
                report.root_uuid, report.root_options = row.get("UUID"), row.get("OPTIONS")
        elif body.startswith("ip: "):
            ip_line = body[len("ip: "):].strip()
            if re.match(r"\d+: eth0[:@]", ip_line):
                report.eth0_exists = True
            match = re.match(r"inet (\S+)", ip_line)
            if match:
                report.eth0_addresses.append(match.group(1))
        elif body.strip() == "end":
            report.complete = True
    return report


def _findmnt_short_row(header: list, columns: list) -> dict:
    """A row with an empty column (no UUID, e.g. tmpfs): the UUID is the one missing."""
    names = [h for h in header if h != "UUID"]
    row = dict(zip(names, columns))
    row["UUID"] = None
    return row
