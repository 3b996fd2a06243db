"""What the guest is, as items read it: :class:`GuestFacts` and the names of what it runs.

The constants name the distribution families, initramfs tools, bootloaders and network stacks
that :mod:`.facts` detects and the items act on. This module imports nothing, so every detection
and repair module can import it at the top.
"""

# Families
RHEL = "rhel"
DEBIAN = "debian"
SUSE = "suse"
UNKNOWN = "unknown"

# Initramfs tools
DRACUT = "dracut"
INITRAMFS_TOOLS = "initramfs-tools"
MKINITRD = "mkinitrd"

# Bootloaders
GRUB2 = "grub2"          # grub-mkconfig / grub2-mkconfig with /etc/default/grub
GRUB2_BLS = "grub2-bls"  # GRUB 2 with BootLoaderSpec entries (/boot/loader/entries), edited by grubby
GRUB_LEGACY = "grub-legacy"  # menu.lst / grub.conf

# Network stacks
IFCFG = "ifcfg"                  # /etc/sysconfig/network-scripts/ifcfg-* (RHEL initscripts)
IFUPDOWN = "ifupdown"            # /etc/network/interfaces(.d)
NETPLAN = "netplan"              # /etc/netplan/*.yaml
NM_KEYFILE = "networkmanager"    # /etc/NetworkManager/system-connections/*.nmconnection
WICKED = "wicked"                # /etc/sysconfig/network/ifcfg-* (SUSE)
NETWORKD = "systemd-networkd"    # /etc/systemd/network/*.network


class Kernel(object):
    """One installed kernel: its version, vmlinuz and initramfs paths (guest paths)."""

    def __init__(self, version, image, initramfs):
        self.version = version
        self.image = image
        self.initramfs = initramfs  # where the guest's tool writes it (may not exist yet)

    def to_dict(self):
        return {"version": self.version, "image": self.image, "initramfs": self.initramfs}

    def __repr__(self):
        return "Kernel(%r)" % self.version


class GuestFacts(object):
    def __init__(self):
        self.distro_id = None        # os-release ID (centos, debian, ubuntu, sles, alinux, ...)
        self.version_id = None       # os-release VERSION_ID ("7", "12", "22.04", ...)
        self.pretty_name = None
        self.family = UNKNOWN        # RHEL, DEBIAN, SUSE or UNKNOWN
        self.platform = None         # ECS Platform name (CentOS, Ubuntu, Red Hat, Aliyun, ...)
        self.package_manager = None  # yum, dnf, apt, zypper
        self.initramfs_tool = None   # DRACUT, INITRAMFS_TOOLS, MKINITRD
        self.bootloader = None       # GRUB2, GRUB2_BLS, GRUB_LEGACY
        self.grub_cfg = []           # guest paths of the generated grub.cfg files
        self.grub_mkconfig = None    # guest path of grub-mkconfig / grub2-mkconfig
        self.boot_mode = None        # "BIOS" or "UEFI"
        self.network_stacks = []     # the stacks configured in the guest, most authoritative first
        self.kernels = []            # [Kernel]
        self.architecture = None     # x86_64, arm64
        self.codename = None         # VERSION_CODENAME (bookworm, jammy...) when the guest says it

    def to_dict(self):
        return {
            "id": self.distro_id,
            "version": self.version_id,
            "name": self.pretty_name,
            "family": self.family,
            "platform": self.platform,
            "package_manager": self.package_manager,
            "initramfs_tool": self.initramfs_tool,
            "bootloader": self.bootloader,
            "boot_mode": self.boot_mode,
            "network_stacks": self.network_stacks,
            "kernels": [k.version for k in self.kernels],
            "architecture": self.architecture,
        }
