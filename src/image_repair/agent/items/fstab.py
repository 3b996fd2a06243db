"""GUESTOS.Fstab: filesystems by UUID, nofail where a missing disk must not stop the boot.

On ECS the system disk is ``/dev/vda`` (virtio) or ``/dev/nvme0n1``: an fstab written on VMware
(``/dev/sda1``) or Xen (``/dev/xvda1``) names devices that do not exist there, and the boot drops
to emergency mode. The rewrite rules live in :mod:`..guest.fstab_rewrite` (pure, golden-tested);
this item reads the guest's fstab, applies them with the disk layout, and writes the result
(backed up once; an identical result writes nothing, so a second run changes nothing).
"""
from ..errors import AgentError
from ..guest.fstab_rewrite import rewrite_fstab
from .base import Detection, RepairItem

FSTAB = "/etc/fstab"
SYSTEMD_MARKERS = ("/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/etc/systemd/system")


def boots_with_systemd(guest):
    """systemd understands x-systemd.* options; older mount(8) (CentOS 6, SLES 11) may not."""
    return any(guest.fs.exists(path) for path in SYSTEMD_MARKERS)


def planned(guest):
    """(current text, rewritten text, findings, blockers), or None without an fstab."""
    text = guest.fs.read_text(FSTAB)
    if text is None:
        return None
    new, findings, blockers = rewrite_fstab(text, guest.layout, systemd=boots_with_systemd(guest))
    return text, new, findings, blockers


class FstabItem(RepairItem):
    name = "fstab"

    def detect(self, guest):
        plan = planned(guest)
        if plan is None:
            return Detection.not_applicable("no /etc/fstab in the guest")
        text, new, findings, blockers = plan
        if new == text and not blockers:
            return Detection.healthy(*(findings or ["fstab entries are stable (UUID=, LABEL=, LVM) and "
                                                    "nofail where not needed to boot"]))
        serious = blockers or any("->" in f or "malformed" in f for f in findings)
        return Detection.risky(findings, risk="High" if serious else "Medium")

    def fix(self, guest, detection):
        plan = planned(guest)
        if plan is None:
            raise AgentError("/etc/fstab disappeared during the repair")
        _text, new, _findings, blockers = plan
        guest.fs.write_text(FSTAB, new)
        if blockers:
            raise AgentError("fstab: " + "; ".join(blockers))


ITEM = FstabItem()
