"""What every repair item is: a name, the image-check item it answers, detect, fix and verify.

An item never regenerates the initramfs or the bootloader configuration itself: it asks for
what it needs (``guest.initramfs.require``, ``guest.boot.require_args``) and the engine runs each
regeneration once for all items, after every fix (one initramfs rebuild per kernel per run).
"""
from .checknames import check_item_name


class Detection(object):
    """The outcome of detect or verify for one item."""

    def __init__(self, at_risk, findings=None, applicable=True, risk=None):
        self.at_risk = bool(at_risk)
        self.findings = list(findings or [])
        self.applicable = applicable
        self.risk = risk if at_risk else None

    @classmethod
    def healthy(cls, *findings):
        return cls(False, findings)

    @classmethod
    def risky(cls, findings, risk="High"):
        return cls(True, findings, risk=risk)

    @classmethod
    def not_applicable(cls, reason):
        return cls(False, [reason], applicable=False)

    def __repr__(self):
        return "Detection(at_risk=%r, applicable=%r, findings=%r)" % (self.at_risk, self.applicable, self.findings)


class RepairItem(object):
    #: the name users pass in repairItems (seed template names)
    name = None
    #: True for items that install packages (they need a package source)
    installs_packages = False

    @property
    def check_item(self):
        """The ECS image-check item this item answers (DescribeImages DetectionOptions), in the
        user guide's spelling; the table and both spellings live in checknames.py."""
        return check_item_name(self.name)

    def detect(self, guest):
        """Inspect the guest, read-only. Returns a :class:`Detection`."""
        raise NotImplementedError

    def fix(self, guest, detection):
        """Change the guest so that verify finds no risk. Writes go through ``guest.fs``."""
        raise NotImplementedError

    def verify(self, guest):
        """Inspect again after every fix and regeneration; by default, the same as detect."""
        return self.detect(guest)
