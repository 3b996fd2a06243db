"""GUESTOS.OnlineResizeFS: the root partition and filesystem grow to the disk's size at boot.

cloud-init does it: its growpart module calls the ``growpart`` tool (package cloud-guest-utils on
Debian/Ubuntu, cloud-utils-growpart on RHEL-likes, growpart on SUSE), then resizefs grows the
filesystem. Both modules must stay active: listed in cloud_init_modules, not switched off
(``growpart: {mode: off}``, ``resize_rootfs: false``, /etc/growroot-disabled).
"""
from ..errors import AgentError
from ..guest import cloudcfg, packages
from ..guest.model import DEBIAN, RHEL, SUSE
from .base import Detection, RepairItem

PACKAGES = {DEBIAN: "cloud-guest-utils", RHEL: "cloud-utils-growpart", SUSE: "growpart"}
BINARIES = ("/usr/bin/growpart", "/usr/sbin/growpart", "/usr/local/bin/growpart")
GROWROOT_DISABLED = "/etc/growroot-disabled"
ENABLE_CFG = "/etc/cloud/cloud.cfg.d/91_image_repair_growpart.cfg"
ENABLE_CFG_TEXT = (
    "# Written by image-repair: grow the root partition and filesystem at boot.\n"
    "growpart:\n"
    "  mode: auto\n"
    "  devices: [\"/\"]\n"
    "resize_rootfs: true\n"
)
MODULES = ("growpart", "resizefs")


def modules_missing(fs):
    """cloud-init modules of MODULES absent from the effective cloud_init_modules list."""
    _path, raw = cloudcfg.effective(fs, "cloud_init_modules")
    if raw is None:
        return []  # no list anywhere: cloud-init's built-in defaults include both
    listed = cloudcfg.parse_list(raw)
    return [m for m in MODULES if m not in listed and m.replace("resizefs", "resize_rootfs") not in listed]


def switched_off(fs):
    """Findings for growpart/resizefs switched off in the configuration."""
    found = []
    path, raw = cloudcfg.effective(fs, "growpart")
    if raw is not None and cloudcfg.is_false(cloudcfg.mapping_value(raw, "mode")):
        found.append("%s switches growpart off (mode: %s)" % (path, cloudcfg.mapping_value(raw, "mode")))
    path, raw = cloudcfg.effective(fs, "resize_rootfs")
    if raw is not None and cloudcfg.is_false(raw):
        found.append("%s sets resize_rootfs: %s" % (path, raw))
    if fs.lexists(GROWROOT_DISABLED):
        found.append("%s exists" % GROWROOT_DISABLED)
    return found


def add_modules_text(text, missing):
    """cloud.cfg with ``missing`` modules added at the top of its cloud_init_modules block."""
    lines = text.splitlines(True)
    for index, line in enumerate(lines):
        if line.rstrip() == "cloud_init_modules:":
            indent = " "
            for following in lines[index + 1:]:
                if following.lstrip().startswith("-"):
                    indent = following[:len(following) - len(following.lstrip())]
                    break
            added = ["%s- %s\n" % (indent, m) for m in missing]
            return "".join(lines[:index + 1] + added + lines[index + 1:])
    raise AgentError("cloud_init_modules in %s is not a block list: add %s by hand"
                     % (cloudcfg.CLOUD_CFG, ", ".join(missing)))


class GrowpartItem(RepairItem):
    name = "growpart"
    installs_packages = True

    def detect(self, guest):
        fs = guest.fs
        problems = []
        if not any(fs.isfile(p) for p in BINARIES):
            problems.append("growpart is not installed (package %s)" % PACKAGES.get(guest.facts.family, "growpart"))
        if not cloudcfg.installed(fs):
            problems.append("cloud-init is not installed: nothing runs growpart at boot")
        else:
            problems.extend("cloud-init module %s is not in cloud_init_modules" % m for m in modules_missing(fs))
            problems.extend(switched_off(fs))
        if problems:
            return Detection.risky(problems, risk="Medium")
        return Detection.healthy("growpart installed; cloud-init growpart and resizefs active")

    def fix(self, guest, detection):
        fs = guest.fs
        wanted = []
        if not any(fs.isfile(p) for p in BINARIES):
            if guest.facts.family not in PACKAGES:
                raise AgentError("unknown distribution family: cannot tell which package has growpart")
            wanted.append(PACKAGES[guest.facts.family])
        if not cloudcfg.installed(fs):
            wanted.append("cloud-init")
        if wanted:
            packages.install(guest, wanted, label="installing %s" % " ".join(wanted))
        if guest.dry_run and not cloudcfg.installed(fs):
            return  # the configuration to check arrives with the package
        missing = modules_missing(fs)
        if missing:
            fs.write_text(cloudcfg.CLOUD_CFG, add_modules_text(fs.read_text(cloudcfg.CLOUD_CFG, ""), missing))
        if switched_off(fs):
            fs.write_text(ENABLE_CFG, ENABLE_CFG_TEXT)
            fs.remove(GROWROOT_DISABLED)
            still = switched_off(fs)
            if still and not guest.dry_run:
                raise AgentError("; ".join(still) + ": overrides " + ENABLE_CFG)


ITEM = GrowpartItem()
