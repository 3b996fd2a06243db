"""Kernels, architecture, network stacks, initramfs tool and package manager on unusual guests."""
import os
import shutil
import struct

import pytest

from image_repair.agent.guest.facts import initramfs_tool, network_stacks
from image_repair.agent.guest.kernels import architecture, installed_kernels, version_key
from image_repair.agent.guestfs import GuestFS
from tests.fixtures.guests import build_guest, facts_of, install_stub, write_guest_file


# -- kernels -------------------------------------------------------------------------------------
def test_versions_sort_numerically_not_as_text():
    versions = ["5.14.0-362.el9.x86_64", "5.14.0-70.13.1.el9_0.x86_64", "5.14.0-284.11.1.el9_2.x86_64",
                "5.10.0-26-amd64", "5.10.0-9-amd64", "4.18.0-80.el8.x86_64"]
    assert sorted(versions, key=version_key) == [
        "4.18.0-80.el8.x86_64", "5.10.0-9-amd64", "5.10.0-26-amd64", "5.14.0-70.13.1.el9_0.x86_64",
        "5.14.0-284.11.1.el9_2.x86_64", "5.14.0-362.el9.x86_64"]


def test_kernels_need_modules_and_an_image(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    write_guest_file(tree, "/boot/vmlinuz-3.10.0-999.el7.x86_64", "image without modules (removed kernel)")
    write_guest_file(tree, "/boot/vmlinuz.old", "not a versioned image")
    write_guest_file(tree, "/lib/modules/3.10.0-1160.el7.x86_64/weak-updates/.keep", "")
    write_guest_file(tree, "/lib/modules/extra/.keep", "")     # not a kernel
    assert [k.version for k in facts_of(tree).kernels] == ["3.10.0-1160.el7.x86_64", "3.10.0-1160.105.1.el7.x86_64"]


def test_arm64_image_names_and_split_usr_module_trees(tmp_path):
    root = tmp_path / "arm"
    write_guest_file(root, "/usr/lib/modules/5.14.21-150500.55.39-default/modules.dep", "")
    write_guest_file(root, "/boot/Image-5.14.21-150500.55.39-default", "arm64 kernel")
    write_guest_file(root, "/lib/modules/6.1.0-13-arm64/modules.dep", "")
    write_guest_file(root, "/boot/vmlinux-6.1.0-13-arm64", "kernel")
    kernels = installed_kernels(GuestFS(str(root)), "suse", "dracut")
    assert [(k.version, k.image, k.initramfs) for k in kernels] == [
        ("5.14.21-150500.55.39-default", "/boot/Image-5.14.21-150500.55.39-default",
         "/boot/initrd-5.14.21-150500.55.39-default"),
        ("6.1.0-13-arm64", "/boot/vmlinux-6.1.0-13-arm64", "/boot/initrd-6.1.0-13-arm64")]


def test_an_existing_initramfs_under_another_known_name_is_used(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    kver = "3.10.0-1160.el7.x86_64"
    os.rename(str(tree / ("boot/initramfs-%s.img" % kver)), str(tree / ("boot/initrd-%s.img" % kver)))
    kernel = facts_of(tree).kernels[0]
    assert (kernel.version, kernel.initramfs) == (kver, "/boot/initrd-%s.img" % kver)
    os.unlink(str(tree / ("boot/initrd-%s.img" % kver)))
    assert facts_of(tree).kernels[0].initramfs == "/boot/initramfs-%s.img" % kver   # convention


def test_debian_with_dracut_names_initramfs_as_debian_does(tmp_path):
    facts = facts_of(build_guest(tmp_path, "debian12", initramfs_tool="dracut"))
    assert facts.initramfs_tool == "dracut"
    assert facts.kernels[0].initramfs == "/boot/initrd.img-6.1.0-13-amd64"


# -- architecture ----------------------------------------------------------------------------------
def elf_header(machine, little=True):
    order = "<" if little else ">"
    return (b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + b"\0" * 9 + struct.pack(order + "HH", 2, machine)
            + b"\0" * 40)


def test_architecture_from_the_shell_elf_header(tmp_path):
    tree = build_guest(tmp_path, "opensuse-leap15")
    shutil.rmtree(str(tree / "bin"))
    write_guest_file(tree, "/bin/bash", elf_header(0xB7))
    os.symlink("bash", str(tree / "bin/sh"))
    assert facts_of(tree).architecture == "arm64"     # the shell wins over the kernel names


def test_architecture_falls_back_to_kernel_names(tmp_path):
    root = tmp_path / "r"
    write_guest_file(root, "/bin/sh", "#!/not/an/elf\n")
    write_guest_file(root, "/lib/modules/4.18.0-80.el8.aarch64/modules.dep", "")
    write_guest_file(root, "/boot/vmlinuz-4.18.0-80.el8.aarch64", "k")
    fs = GuestFS(str(root))
    assert architecture(fs, installed_kernels(fs, "rhel", "dracut")) == "arm64"
    assert architecture(fs, []) is None
    write_guest_file(root, "/usr/bin/sh", elf_header(0x3E, little=True)[:10])     # truncated: ignored
    assert architecture(fs, []) is None


# -- network stacks --------------------------------------------------------------------------------
def test_rhel8_reads_ifcfg_before_keyfiles_rhel9_the_other_way(tmp_path):
    keyfile = "[connection]\nid=eth1\ntype=ethernet\n"
    el8 = build_guest(tmp_path, "almalinux8")
    write_guest_file(el8, "/etc/NetworkManager/system-connections/eth1.nmconnection", keyfile)
    assert facts_of(el8).network_stacks == ["ifcfg", "networkmanager"]
    el9 = build_guest(tmp_path, "rhel9")
    write_guest_file(el9, "/etc/sysconfig/network-scripts/ifcfg-eth1", "DEVICE=eth1\nBOOTPROTO=dhcp\n")
    assert facts_of(el9).network_stacks == ["networkmanager", "ifcfg"]


def test_loopback_only_configs_do_not_count(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    os.unlink(str(tree / "etc/sysconfig/network-scripts/ifcfg-eth0"))
    # only ifcfg-lo left: nothing configures a NIC, the installed stack (initscripts) is reported
    assert facts_of(tree).network_stacks == ["ifcfg"]
    fs = GuestFS(str(tree))
    shutil.rmtree(str(tree / "etc/sysconfig/network-scripts"))
    assert network_stacks(fs, "rhel", "centos", "7") == []


def test_ifupdown_with_only_lo_falls_back_to_what_is_installed(tmp_path):
    tree = build_guest(tmp_path, "debian11")
    write_guest_file(tree, "/etc/network/interfaces", "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n")
    install_stub(tree, "/usr/sbin/NetworkManager")
    assert facts_of(tree).network_stacks == ["ifupdown", "networkmanager"]
    write_guest_file(tree, "/etc/network/interfaces.d/eth0", "auto eth0\niface eth0 inet dhcp\n")
    assert facts_of(tree).network_stacks == ["ifupdown"]


def test_networkd_link_files_are_not_network_configs(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2004")
    write_guest_file(tree, "/etc/systemd/network/99-default.link", "[Link]\nNamePolicy=kernel\n")
    assert facts_of(tree).network_stacks == ["netplan"]


def test_suse_ifcfg_is_wicked_not_rhel_ifcfg(tmp_path):
    tree = build_guest(tmp_path, "sles15", extra_network=(("networkmanager", "dhcp", "eth1"),))
    assert facts_of(tree).network_stacks == ["wicked", "networkmanager"]


# -- initramfs tool and package manager ------------------------------------------------------------
def test_debian_with_dracut_installed_uses_dracut(tmp_path):
    tree = build_guest(tmp_path, "debian11", initramfs_tool="dracut")
    assert facts_of(tree).initramfs_tool == "dracut"


def test_debian_without_dpkg_status_prefers_initramfs_tools_when_both_are_there(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    install_stub(tree, "/usr/bin/dracut")
    os.unlink(str(tree / "var/lib/dpkg/status"))
    fs = GuestFS(str(tree))
    assert initramfs_tool(fs, "debian", None) == "initramfs-tools"
    assert initramfs_tool(fs, "rhel", None) == "dracut"


def test_rhel5_style_mkinitrd_and_a_dracut_wrapper(tmp_path):
    tree = build_guest(tmp_path, "centos6")
    os.unlink(str(tree / "sbin/dracut"))
    install_stub(tree, "/sbin/mkinitrd", "exec /sbin/nash --force\n")
    assert facts_of(tree).initramfs_tool == "mkinitrd"
    install_stub(tree, "/sbin/mkinitrd", "# compatibility wrapper\nexec dracut \"$@\"\n")
    # a wrapper around a dracut that is gone: the configuration left says dracut
    assert facts_of(tree).initramfs_tool == "dracut"


def test_no_initramfs_tool_at_all(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    os.unlink(str(tree / "usr/bin/dracut"))
    shutil.rmtree(str(tree / "etc/dracut.conf.d"))
    os.unlink(str(tree / "etc/dracut.conf"))
    assert facts_of(tree).initramfs_tool is None


@pytest.mark.parametrize("name, extra, expected", [
    ("kylin10", "/usr/bin/yum", "dnf"),           # both: dnf
    ("centos7", "/usr/bin/dnf", "dnf"),           # el7 with dnf installed
    ("debian12", "/usr/bin/yum", "apt"),          # the family's own first
    ("sles15", "/usr/bin/apt-get", "zypper"),
])
def test_package_manager_prefers_the_familys_own(tmp_path, name, extra, expected):
    tree = build_guest(tmp_path, name)
    install_stub(tree, extra)
    assert facts_of(tree).package_manager == expected


def test_a_non_executable_file_is_not_a_tool(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    os.chmod(str(tree / "usr/bin/yum"), 0o644)
    assert facts_of(tree).package_manager is None
