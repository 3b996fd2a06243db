"""detect_facts on every fixture guest: the values a person who knows each distribution expects.

The table below is written by hand, independently of the fixture table (tests/fixtures/guests.py):
a fixture that drifted from reality, or a detection rule that broke, shows up as a mismatch.
"""
import pytest

from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import GuestFS
from tests.fixtures.guests import GUESTS, build_guest

COLUMNS = ("family", "distro_id", "version_id", "platform", "package_manager", "initramfs_tool", "bootloader",
           "boot_mode", "network_stacks", "grub_cfg", "grub_mkconfig")
G2MK, GMK = "/usr/sbin/grub2-mkconfig", "/usr/sbin/grub-mkconfig"
B2, B = ["/boot/grub2/grub.cfg"], ["/boot/grub/grub.cfg"]
NM = ["networkmanager"]
EXPECTED = {
    # name: family, id, version, platform, manager, initramfs, bootloader, mode, stacks, grub_cfg, mkconfig
    "centos6": ("rhel", "centos", "6.10", "CentOS", "yum", "dracut", "grub-legacy", "BIOS", ["ifcfg"],
                ["/boot/grub/grub.conf"], None),
    "centos7": ("rhel", "centos", "7", "CentOS", "yum", "dracut", "grub2", "BIOS", ["ifcfg"], B2, G2MK),
    "centos8": ("rhel", "centos", "8", "CentOS", "dnf", "dracut", "grub2-bls", "BIOS", ["ifcfg"], B2, G2MK),
    "centos-stream9": ("rhel", "centos", "9", "CentOS Stream", "dnf", "dracut", "grub2-bls", "UEFI", NM, B2, G2MK),
    "rhel9": ("rhel", "rhel", "9.2", "Red Hat", "dnf", "dracut", "grub2-bls", "BIOS", NM, B2, G2MK),
    "rocky9": ("rhel", "rocky", "9.3", "Rocky Linux", "dnf", "dracut", "grub2-bls", "UEFI", NM, B2, G2MK),
    "almalinux8": ("rhel", "almalinux", "8.9", "AlmaLinux", "dnf", "dracut", "grub2-bls", "BIOS", ["ifcfg"], B2,
                   G2MK),
    "anolis8": ("rhel", "anolis", "8.8", "Anolis", "dnf", "dracut", "grub2-bls", "BIOS", ["ifcfg"], B2, G2MK),
    "alinux2": ("rhel", "alinux", "2.1903", "Aliyun", "yum", "dracut", "grub2", "BIOS", ["ifcfg"], B2, G2MK),
    "alinux3": ("rhel", "alinux", "3", "Aliyun", "dnf", "dracut", "grub2-bls", "BIOS", ["ifcfg"], B2, G2MK),
    # EL8 on UEFI: the real grub.cfg lives on the ESP.
    "oraclelinux8": ("rhel", "ol", "8.9", "Others Linux", "dnf", "dracut", "grub2-bls", "UEFI", ["ifcfg"],
                     ["/boot/efi/EFI/redhat/grub.cfg"], G2MK),
    "kylin10": ("rhel", "kylin", "V10", "Kylin", "dnf", "dracut", "grub2", "BIOS", ["ifcfg"], B2, G2MK),
    "fedora39": ("rhel", "fedora", "39", "Fedora", "dnf", "dracut", "grub2-bls", "UEFI", NM, B2, G2MK),
    "debian11": ("debian", "debian", "11", "Debian", "apt", "initramfs-tools", "grub2", "BIOS", ["ifupdown"], B, GMK),
    # dracut's configuration left behind (dpkg: config-files) must not make it the tool.
    "debian12": ("debian", "debian", "12", "Debian", "apt", "initramfs-tools", "grub2", "UEFI", ["ifupdown"], B, GMK),
    "ubuntu2004": ("debian", "ubuntu", "20.04", "Ubuntu", "apt", "initramfs-tools", "grub2", "BIOS", ["netplan"],
                   B, GMK),
    "ubuntu2204": ("debian", "ubuntu", "22.04", "Ubuntu", "apt", "initramfs-tools", "grub2", "BIOS",
                   ["netplan", "systemd-networkd"], B, GMK),
    "uos20": ("debian", "uos", "20", "UOS", "apt", "initramfs-tools", "grub2", "BIOS", NM, B, GMK),
    "sles11": ("suse", "sles", "11.4", "SUSE", "zypper", "mkinitrd", "grub-legacy", "BIOS", ["wicked"],
               ["/boot/grub/menu.lst"], None),
    # SLES 12+: /sbin/mkinitrd is a dracut wrapper, dracut is the tool.
    "sles12": ("suse", "sles", "12.5", "SUSE", "zypper", "dracut", "grub2", "BIOS", ["wicked"], B2, G2MK),
    "sles15": ("suse", "sles", "15.5", "SUSE", "zypper", "dracut", "grub2", "UEFI", ["wicked"], B2, G2MK),
    "opensuse-leap15": ("suse", "opensuse-leap", "15.5", "OpenSUSE", "zypper", "dracut", "grub2", "BIOS",
                        ["wicked"], B2, G2MK),
}
KERNELS = {
    "centos6": [("2.6.32-696.el6.x86_64", "/boot/initramfs-2.6.32-696.el6.x86_64.img"),
                ("2.6.32-754.35.1.el6.x86_64", "/boot/initramfs-2.6.32-754.35.1.el6.x86_64.img")],
    # the rescue image (vmlinuz-0-rescue-<machine-id>) is not a kernel of its own
    "centos7": [("3.10.0-1160.el7.x86_64", "/boot/initramfs-3.10.0-1160.el7.x86_64.img"),
                ("3.10.0-1160.105.1.el7.x86_64", "/boot/initramfs-3.10.0-1160.105.1.el7.x86_64.img")],
    "oraclelinux8": [("4.18.0-513.5.1.el8_9.x86_64", "/boot/initramfs-4.18.0-513.5.1.el8_9.x86_64.img"),
                     ("5.15.0-200.131.27.el8uek.x86_64", "/boot/initramfs-5.15.0-200.131.27.el8uek.x86_64.img")],
    # /lib/modules/5.10.0-20-amd64 without a kernel image is a leftover, not a kernel
    "debian11": [("5.10.0-26-amd64", "/boot/initrd.img-5.10.0-26-amd64")],
    "ubuntu2204": [("5.15.0-91-generic", "/boot/initrd.img-5.15.0-91-generic"),
                   ("5.15.0-92-generic", "/boot/initrd.img-5.15.0-92-generic")],
    "sles11": [("3.0.101-108.13-default", "/boot/initrd-3.0.101-108.13-default")],
    "sles15": [("5.14.21-150500.55.39-default", "/boot/initrd-5.14.21-150500.55.39-default")],
}


def test_the_expected_table_covers_every_fixture_guest():
    assert sorted(EXPECTED) == sorted(GUESTS)


@pytest.fixture(scope="module")
def guests_root(tmp_path_factory):
    return tmp_path_factory.mktemp("guests")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_facts_of_every_fixture_guest(guests_root, name):
    facts = detect_facts(GuestFS(str(build_guest(guests_root, name))))
    got = tuple(getattr(facts, column) for column in COLUMNS)
    assert dict(zip(COLUMNS, got)) == dict(zip(COLUMNS, EXPECTED[name]))
    assert facts.architecture == "x86_64"
    assert facts.pretty_name == GUESTS[name].pretty_name
    assert [k.version for k in facts.kernels] == list(GUESTS[name].kernels)
    for kernel in facts.kernels:
        assert kernel.image == "/boot/vmlinuz-" + kernel.version
    if name in KERNELS:
        assert [(k.version, k.initramfs) for k in facts.kernels] == KERNELS[name]
    # every initramfs path named is one the fixture's distribution really wrote
    for kernel in facts.kernels:
        assert (guests_root / name / kernel.initramfs.lstrip("/")).is_file()


def test_codename_comes_from_os_release(tmp_path):
    assert detect_facts(GuestFS(str(build_guest(tmp_path, "debian12")))).codename == "bookworm"
    assert detect_facts(GuestFS(str(build_guest(tmp_path, "centos7")))).codename is None
