"""GUESTOS.Virtio: the virtio drivers in the initramfs of every installed kernel.

ECS disks and NICs are virtio devices: without virtio_blk/virtio_pci in the initramfs the root
disk is never found. The rebuild itself is shared with nvme (guest/initramfs.py).
"""
from ..errors import AgentError
from ..guest.initramfs import drivers_detection, require_drivers
from .base import Detection, RepairItem

REQUIRED = ["virtio_blk", "virtio_pci", "virtio_net", "virtio_scsi", "virtio_console"]
# Part of the virtio core: needed only where the kernel builds them as modules.
OPTIONAL = ["virtio_ring", "virtio"]


class VirtioItem(RepairItem):
    name = "virtio"

    def detect(self, guest):
        at_risk, findings, _blocked = drivers_detection(guest, REQUIRED, OPTIONAL)
        return Detection.risky(findings, risk="High") if at_risk else Detection.healthy(*findings)

    def fix(self, guest, detection):
        blocked = require_drivers(guest, self.name, REQUIRED, OPTIONAL, "virtio")
        if blocked:
            raise AgentError("kernel %s ships no virtio driver for some devices (see findings): "
                             "install a kernel with virtio support" % ", ".join(blocked))


ITEM = VirtioItem()
