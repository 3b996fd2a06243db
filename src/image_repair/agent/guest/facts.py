"""Reading the guest's facts: distribution and family, initramfs tool, bootloader, network
stacks, kernels.

Detection reads files only (never runs guest binaries), so it works on a read-only mount and on
fixture trees. ``detect_facts(fs)`` fills a :class:`~.model.GuestFacts`; the distribution comes
from :mod:`.distro`, the bootloader and boot mode from :mod:`.boot_facts`, kernels and
architecture from :mod:`.kernels`; the names they share are in :mod:`.model`.
"""
import re

from .. import runner
from . import boot_facts, distro, kernels
from .model import (DEBIAN, DRACUT, IFCFG, IFUPDOWN, INITRAMFS_TOOLS, MKINITRD, NETPLAN, NETWORKD,
                    NM_KEYFILE, RHEL, SUSE, UNKNOWN, WICKED, GuestFacts)

PACKAGE_MANAGERS = (("dnf", "dnf"), ("yum", "yum"), ("zypper", "zypper"), ("apt-get", "apt"))
# The package manager a family normally uses is preferred when a guest has several.
FAMILY_MANAGERS = {RHEL: ("dnf", "yum"), DEBIAN: ("apt",), SUSE: ("zypper",)}
INITRAMFS_COMMANDS = {DRACUT: ("dracut",), INITRAMFS_TOOLS: ("update-initramfs", "mkinitramfs"),
                      MKINITRD: ("mkinitrd",)}
INITRAMFS_CONFIGS = {DRACUT: ("/etc/dracut.conf", "/etc/dracut.conf.d"),
                     INITRAMFS_TOOLS: ("/etc/initramfs-tools",), MKINITRD: ("/etc/sysconfig/mkinitrd",)}
INITRAMFS_PREFERENCE = {DEBIAN: (INITRAMFS_TOOLS, DRACUT), RHEL: (DRACUT, MKINITRD),
                        SUSE: (DRACUT, MKINITRD), UNKNOWN: (DRACUT, INITRAMFS_TOOLS, MKINITRD)}

# Where each network stack keeps its configuration.
IFCFG_DIR = "/etc/sysconfig/network-scripts"
WICKED_DIR = "/etc/sysconfig/network"
NETPLAN_DIR = "/etc/netplan"
NM_DIR = "/etc/NetworkManager/system-connections"
IFUPDOWN_FILE = "/etc/network/interfaces"
IFUPDOWN_DIR = "/etc/network/interfaces.d"
NETWORKD_DIR = "/etc/systemd/network"
# Most authoritative first: netplan renders networkd/NetworkManager configuration; RHEL 9+ and
# Fedora read NetworkManager keyfiles before ifcfg files, older RHEL the other way round.
STACK_ORDER = {
    DEBIAN: (NETPLAN, IFUPDOWN, NM_KEYFILE, NETWORKD),
    SUSE: (WICKED, NM_KEYFILE, NETWORKD),
    RHEL: (IFCFG, NM_KEYFILE, NETWORKD),
    UNKNOWN: (NETPLAN, NM_KEYFILE, IFCFG, IFUPDOWN, WICKED, NETWORKD),
}
_IFACE_STANZA = re.compile(r"^\s*iface\s+(\S+)", re.M)


def detect_facts(fs):
    """Everything the items need to know about the guest mounted at ``fs``, from its files."""
    facts = GuestFacts()
    found = distro.detect_distribution(fs)
    facts.distro_id = found.distro_id
    facts.version_id = found.version_id
    facts.pretty_name = found.pretty_name
    facts.family = found.family
    facts.platform = found.platform
    facts.codename = found.codename
    facts.package_manager = package_manager(fs, facts.family)
    facts.initramfs_tool = initramfs_tool(fs, facts.family, distro.dpkg_packages(fs))
    facts.kernels = kernels.installed_kernels(fs, facts.family, facts.initramfs_tool)
    facts.architecture = kernels.architecture(fs, facts.kernels)
    boot = boot_facts.detect_boot(fs, facts.family, facts.architecture)
    facts.bootloader = boot.bootloader
    facts.grub_cfg = boot.grub_cfg
    facts.grub_mkconfig = boot.grub_mkconfig
    facts.boot_mode = boot.boot_mode
    facts.network_stacks = network_stacks(fs, facts.family, facts.distro_id, facts.version_id)
    return facts


def _which(fs, name):
    return runner.which(name, root=fs.root)


def package_manager(fs, family):
    """dnf, yum, zypper or apt: the family's own first, from the installed binaries."""
    present = [label for command, label in PACKAGE_MANAGERS if _which(fs, command)]
    for label in FAMILY_MANAGERS.get(family, ()):
        if label in present:
            return label
    return present[0] if present else None


def _is_dracut_wrapper(fs, path):
    """SLES 12+ and RHEL 6/7 ship ``mkinitrd`` as a script that runs dracut."""
    try:
        with open(fs.host_path(path), "rb") as handle:
            return b"dracut" in handle.read(65536)
    except (IOError, OSError):
        return False


def initramfs_tool(fs, family, dpkg_installed=None):
    """The tool that really builds the guest's initramfs.

    Debian-like guests can hold both dracut's and initramfs-tools' files (one removed, its
    configuration kept): the package dpkg lists as installed decides. Elsewhere the installed
    command decides, in the family's order (a mkinitrd that wraps dracut is dracut); without any
    command, the configuration directories."""
    if family == DEBIAN and dpkg_installed:
        if INITRAMFS_TOOLS in dpkg_installed:
            return INITRAMFS_TOOLS
        if DRACUT in dpkg_installed:
            return DRACUT
    preference = INITRAMFS_PREFERENCE.get(family, INITRAMFS_PREFERENCE[UNKNOWN])
    for tool in preference:
        for command in INITRAMFS_COMMANDS[tool]:
            path = _which(fs, command)
            if path and not (tool == MKINITRD and _is_dracut_wrapper(fs, path)):
                return tool
    for tool in preference:
        if any(fs.exists(path) for path in INITRAMFS_CONFIGS[tool]):
            return tool
    return None


def _configured_stacks(fs, family):
    configured = set()
    if family != SUSE and [n for n in fs.listdir(IFCFG_DIR) if n.startswith("ifcfg-") and n != "ifcfg-lo"]:
        configured.add(IFCFG)
    if [n for n in fs.listdir(WICKED_DIR) if n.startswith("ifcfg-") and n != "ifcfg-lo"]:
        configured.add(WICKED)
    if [n for n in fs.listdir(NETPLAN_DIR) if n.endswith((".yaml", ".yml"))]:
        configured.add(NETPLAN)
    if [n for n in fs.listdir(NM_DIR) if fs.isfile(NM_DIR + "/" + n)]:
        configured.add(NM_KEYFILE)
    interface_files = [IFUPDOWN_FILE] + [IFUPDOWN_DIR + "/" + n for n in fs.listdir(IFUPDOWN_DIR)]
    for path in interface_files:
        if [name for name in _IFACE_STANZA.findall(fs.read_text(path, "")) if name != "lo"]:
            configured.add(IFUPDOWN)
    if [n for n in fs.listdir(NETWORKD_DIR) if n.endswith(".network")]:
        configured.add(NETWORKD)
    return configured


def _installed_stacks(fs, family):
    """Stacks installed but configuring no interface yet (where a DHCP config would go)."""
    installed = set()
    if _which(fs, "netplan"):
        installed.add(NETPLAN)
    if _which(fs, "NetworkManager"):
        installed.add(NM_KEYFILE)
    if _which(fs, "wicked"):
        installed.add(WICKED)
    if _which(fs, "ifup") or fs.isfile(IFUPDOWN_FILE):
        installed.add(IFUPDOWN if family != SUSE else WICKED)
    if family == RHEL and fs.isdir(IFCFG_DIR):
        installed.add(IFCFG)
    return installed


def network_stacks(fs, family, distro_id=None, version_id=None):
    """The network stacks configuring an interface, most authoritative first; when none does,
    the ones installed."""
    order = list(STACK_ORDER.get(family, STACK_ORDER[UNKNOWN]))
    if family == RHEL and _nm_first(distro_id, version_id):
        order.remove(NM_KEYFILE)
        order.insert(0, NM_KEYFILE)
    order += [s for s in STACK_ORDER[UNKNOWN] if s not in order]
    stacks = _configured_stacks(fs, family) or _installed_stacks(fs, family)
    return [stack for stack in order if stack in stacks]


def _nm_first(distro_id, version_id):
    if distro_id == "fedora":
        return True
    major = re.match(r"\d+", version_id or "")
    return bool(major) and int(major.group(0)) >= 9
