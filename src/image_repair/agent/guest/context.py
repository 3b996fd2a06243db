"""The guest as items see it: its files, its facts, the options of this run, shared regenerations."""
from .. import runner
from ..guestfs import GuestFS
from .bootloader import BootPlan
from .initramfs import InitramfsPlan


class RepairOptions(object):
    """Options of one run that items read. All optional; defaults keep the guest's own sources.

    mirror_url:          base URL of a distribution mirror reachable from the repair host (for
                         example the region's internal mirror); None keeps the guest's repositories.
    assist_package_url:  URL of the Cloud Assistant agent package (.rpm or .deb) for ``assist``.
    aegis_package_url:   URL of the Security Center agent installer or package for ``aegis``.
    """

    FIELDS = ("mirror_url", "assist_package_url", "aegis_package_url")

    def __init__(self, mirror_url=None, assist_package_url=None, aegis_package_url=None):
        self.mirror_url = mirror_url
        self.assist_package_url = assist_package_url
        self.aegis_package_url = aegis_package_url

    def to_dict(self):
        return dict((name, getattr(self, name)) for name in self.FIELDS)


class Guest(object):
    """One mounted guest root, ready for chrooted commands (the disk layer bound /dev, /proc...).

    ``facts`` is a :class:`~image_repair.agent.guest.model.GuestFacts`; ``layout`` describes
    where the guest's filesystems came from (device, UUID, fstab mount point) for items that
    rewrite references to them (fstab, grub).
    """

    def __init__(self, root, facts, layout=None, options=None, dry_run=False, read_only=False):
        self.root = root
        self.fs = GuestFS(root, dry_run=dry_run or read_only)
        self.facts = facts
        self.layout = layout
        self.options = options or RepairOptions()
        self.dry_run = dry_run
        self.read_only = read_only
        self.initramfs = InitramfsPlan()
        self.boot = BootPlan()

    def run(self, argv, label=None, check=True, input_text=None, timeout=None):
        """Run ``argv`` inside the guest's chroot and record it on the current item.

        In a dry run the command is recorded as one that would run, and (0, "") is returned."""
        self.fs.record.add_command(argv)
        if self.dry_run or self.read_only:
            return 0, ""
        return runner.run_in_chroot(self.root, argv, check=check, input_text=input_text,
                                    label=label, timeout=timeout)

    def query(self, argv, check=False, timeout=120):
        """Run a read-only command inside the guest (never recorded, runs in dry runs too)."""
        return runner.run_in_chroot(self.root, argv, check=check, timeout=timeout)

    def has_command(self, name):
        return runner.which(name, root=self.root) is not None
