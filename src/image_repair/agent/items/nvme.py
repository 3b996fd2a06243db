"""GUESTOS.Nvme: the NVMe driver in every initramfs, and NVMe timeouts on the kernel command line.

ECS NVMe instance families (g7se, g8i...) expose the system disk as NVMe: nvme (and nvme_core,
split out in Linux 4.5) must be in the initramfs. Cloud disks can stall longer than the driver's
default 30 s I/O timeout, which remounts filesystems read-only: Alibaba Cloud asks for
nvme_core.io_timeout / admin_timeout set to the maximum.

The maximum depends on the kernel: the parameters were 8-bit (max 255) before Linux 4.15 made
them unsigned int (4294967295 is then the maximum); a value out of range is rejected and the
default kept. The command line is shared by every installed kernel (GRUB_CMDLINE_LINUX), so the
value is 4294967295 when every kernel is 4.15 or newer, else 255, which every kernel accepts.
"""
import re

from ..errors import AgentError
from ..guest.initramfs import drivers_detection, require_drivers
from ..guest.kernel_cmdline import kernel_arg_sources, missing_kernel_args
from .base import Detection, RepairItem

REQUIRED = ["nvme"]
OPTIONAL = ["nvme_core"]   # a separate module from Linux 4.5 on
PARAMETERS = ("nvme_core.io_timeout", "nvme_core.admin_timeout")
MAX_TIMEOUT = "4294967295"
OLD_MAX_TIMEOUT = "255"
UNSIGNED_INT_SINCE = (4, 15)


def kernel_release(version):
    """(major, minor) of a kernel version string such as ``4.18.0-348.el8.x86_64``."""
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def timeout_value(kernels):
    """The largest timeout every installed kernel accepts."""
    releases = [kernel_release(k.version) for k in kernels]
    if releases and all(r is not None and r >= UNSIGNED_INT_SINCE for r in releases):
        return MAX_TIMEOUT
    return OLD_MAX_TIMEOUT


def wanted_args(guest):
    value = timeout_value(guest.facts.kernels)
    return ["%s=%s" % (name, value) for name in PARAMETERS]


class NvmeItem(RepairItem):
    name = "nvme"

    def detect(self, guest):
        at_risk, findings, _blocked = drivers_detection(guest, REQUIRED, OPTIONAL)
        arg_findings = missing_kernel_args(guest, wanted_args(guest))
        if not kernel_arg_sources(guest):
            at_risk = True
            findings.append("no bootloader configuration found to carry %s" % " ".join(wanted_args(guest)))
        elif arg_findings:
            at_risk = True
            findings.extend(arg_findings)
        else:
            findings.append("kernel command line has %s" % " ".join(wanted_args(guest)))
        return Detection.risky(findings, risk="Medium") if at_risk else Detection.healthy(*findings)

    def fix(self, guest, detection):
        blocked = require_drivers(guest, self.name, REQUIRED, OPTIONAL, "NVMe")
        if missing_kernel_args(guest, wanted_args(guest)):
            guest.boot.require_args(self.name, add=wanted_args(guest),
                                    remove=["%s=" % name for name in PARAMETERS],
                                    notes=detection.findings)
        if blocked:
            raise AgentError("kernel %s ships no NVMe driver (neither a module nor built in): "
                             "install a kernel with NVMe support" % ", ".join(blocked))


ITEM = NvmeItem()
