"""Bootloader, grub.cfg list and boot mode on the cases that trip detection up."""
import os
import shutil

from image_repair.agent.guest.boot_facts import is_wrapper
from tests.fixtures import guest_files
from tests.fixtures.guests import build_guest, facts_of, write_guest_file


def test_bls_entries_ignored_when_grub_has_blscfg_disabled(tmp_path):
    tree = build_guest(tmp_path, "centos8")
    text = (tree / "etc/default/grub").read_text().replace("GRUB_ENABLE_BLSCFG=true", "GRUB_ENABLE_BLSCFG=false")
    write_guest_file(tree, "/etc/default/grub", text)
    assert facts_of(tree).bootloader == "grub2"


def test_bls_without_the_setting_follows_the_generated_cfg(tmp_path):
    tree = build_guest(tmp_path, "centos8")
    text = (tree / "etc/default/grub").read_text().replace("GRUB_ENABLE_BLSCFG=true\n", "")
    write_guest_file(tree, "/etc/default/grub", text)
    assert facts_of(tree).bootloader == "grub2-bls"     # the cfg runs blscfg
    write_guest_file(tree, "/boot/grub2/grub.cfg", "### BEGIN /etc/grub.d/10_linux ###\nmenuentry 'x' {\n"
                                         "\tlinux /vmlinuz-1 root=/dev/sda1\n}\n")
    assert facts_of(tree).bootloader == "grub2"


def test_bls_setting_in_a_grub_d_snippet_counts(tmp_path):
    tree = build_guest(tmp_path, "centos8")
    text = (tree / "etc/default/grub").read_text().replace("GRUB_ENABLE_BLSCFG=true\n", "")
    write_guest_file(tree, "/etc/default/grub", text)
    write_guest_file(tree, "/etc/default/grub.d/50-off.cfg", "GRUB_ENABLE_BLSCFG=false\n")
    assert facts_of(tree).bootloader == "grub2"


def test_grub_legacy_only_without_any_grub2_sign(tmp_path):
    tree = build_guest(tmp_path, "centos6")
    assert facts_of(tree).bootloader == "grub-legacy"
    os.symlink("grub.conf", str(tree / "boot/grub/menu.lst"))   # as RHEL 6 ships it
    assert facts_of(tree).grub_cfg == ["/boot/grub/grub.conf"]     # one file, listed once
    write_guest_file(tree, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="quiet"\n')   # grub2 installed since
    assert facts_of(tree).bootloader == "grub2"


def test_esp_wrappers_are_not_listed_the_real_cfg_is(tmp_path):
    for name in ("fedora39", "debian12", "sles15", "rocky9"):
        facts = facts_of(build_guest(tmp_path, name))
        assert facts.grub_cfg == (["/boot/grub/grub.cfg"] if name == "debian12" else ["/boot/grub2/grub.cfg"])


def test_wrapper_recognition():
    real = guest_files.grub_cfg(type("S", (), {"bootloader": "grub2", "kernels": ("1",), "pretty_name": "x",
                                               "root_fs": "ext4", "fstab_style": "uuid", "kernel_args": "",
                                               "family": "rhel", "initramfs_tool": "dracut"})())
    assert not is_wrapper(real)
    assert not is_wrapper("### BEGIN /etc/grub.d/00_header ###\nsource ${prefix}/grub.cfg\n"
                          "### BEGIN /etc/grub.d/10_linux ###\ninsmod blscfg\nblscfg\n")
    assert is_wrapper("search --fs-uuid --set=root X\nset prefix=($root)/boot/grub2\n"
                      "source \"${prefix}/grub.cfg\"\n")
    assert is_wrapper("search.fs_uuid X root\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n")


def test_a_cfg_symlink_is_listed_once_by_its_real_path(tmp_path):
    # EL7 UEFI installs often carry /boot/grub2/grub.cfg -> ../efi/EFI/<vendor>/grub.cfg
    tree = build_guest(tmp_path, "oraclelinux8")
    os.symlink("../efi/EFI/redhat/grub.cfg", str(tree / "boot/grub2/grub.cfg"))
    assert facts_of(tree).grub_cfg == ["/boot/efi/EFI/redhat/grub.cfg"]


def test_stale_cfgs_are_all_listed(tmp_path):
    tree = build_guest(tmp_path, "oraclelinux8")
    write_guest_file(tree, "/boot/grub2/grub.cfg", "### BEGIN /etc/grub.d/00_header ###\n")
    assert facts_of(tree).grub_cfg == ["/boot/grub2/grub.cfg", "/boot/efi/EFI/redhat/grub.cfg"]


def test_hybrid_rhel_with_bios_core_reports_bios(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    assert facts_of(tree).boot_mode == "UEFI"
    write_guest_file(tree, "/boot/grub2/i386-pc/normal.mod", "")
    assert facts_of(tree).boot_mode == "BIOS"


def test_an_esp_without_a_grub_configuration_is_not_uefi(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    os.unlink(str(tree / "boot/efi/EFI/rocky/grub.cfg"))
    assert facts_of(tree).boot_mode == "BIOS"


def test_a_grub_configuration_without_efi_binaries_is_not_uefi(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    for name in ("shimx64.efi", "grubx64.efi"):
        os.unlink(str(tree / "boot/efi/EFI/rocky" / name))
    os.unlink(str(tree / "boot/efi/EFI/BOOT/BOOTX64.EFI"))
    assert facts_of(tree).boot_mode == "BIOS"


def test_debian_boot_mode_follows_the_installed_grub_package(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    status = tree / "var/lib/dpkg/status"
    assert facts_of(tree).boot_mode == "UEFI"
    # grub-pc installed next to the signed EFI grub: an Ubuntu-style hybrid, boots BIOS
    status.write_text(status.read_text() + "\nPackage: grub-pc\nStatus: install ok installed\n")
    assert facts_of(tree).boot_mode == "BIOS"
    # switched to BIOS: grub-efi removed (config-files only), grub-pc installed, ESP files left over
    text = status.read_text()
    for package in ("grub-efi-amd64", "grub-efi-amd64-signed"):
        text = text.replace("Package: %s\nStatus: install ok installed" % package,
                            "Package: %s\nStatus: deinstall ok config-files" % package)
    status.write_text(text)
    assert facts_of(tree).boot_mode == "BIOS"
    # no grub package installed at all: the files decide (the ESP set up, no BIOS core)
    status.write_text(text.replace("Package: grub-pc\nStatus: install ok installed",
                                   "Package: grub-pc\nStatus: deinstall ok config-files"))
    assert facts_of(tree).boot_mode == "UEFI"


def test_ubuntu_with_only_the_efi_bin_package_is_bios(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2204")
    write_guest_file(tree, "/boot/efi/EFI/ubuntu/grubx64.efi", "MZ")
    write_guest_file(tree, "/boot/efi/EFI/ubuntu/grub.cfg", guest_files.efi_wrapper_cfg(type("S", (), {"family": "debian"})))
    status = tree / "var/lib/dpkg/status"
    status.write_text(status.read_text() + "\nPackage: grub-efi-amd64-bin\nStatus: install ok installed\n")
    assert facts_of(tree).boot_mode == "BIOS"


def test_no_bootloader_at_all(tmp_path):
    tree = build_guest(tmp_path, "debian11")
    for path in ("boot/grub/grub.cfg", "etc/default/grub", "usr/sbin/grub-mkconfig"):
        os.unlink(str(tree / path))
    facts = facts_of(tree)
    assert (facts.bootloader, facts.grub_cfg, facts.grub_mkconfig) == (None, [], None)


def test_grub_mkconfig_found_in_sbin_of_a_split_usr_guest(tmp_path):
    tree = build_guest(tmp_path, "sles12")
    os.rename(str(tree / "usr/sbin/grub2-mkconfig"), str(tree / "sbin/grub2-mkconfig"))
    assert facts_of(tree).grub_mkconfig == "/sbin/grub2-mkconfig"


def empty_the_esp(tree):
    """What the agent sees when the ESP is not mounted (this host's kernel has no vfat)."""
    shutil.rmtree(str(tree / "boot/efi/EFI"))


def test_an_unmounted_esp_debian_decides_by_dpkg(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    empty_the_esp(tree)
    assert facts_of(tree).boot_mode == "UEFI"      # grub-efi-amd64 installed, fstab mounts /boot/efi
    write_guest_file(tree, "/etc/fstab", "UUID=%s / ext4 defaults 0 1\n" % guest_files.ROOT_UUID)
    assert facts_of(tree).boot_mode == "BIOS"      # no ESP anywhere


def test_an_unmounted_esp_rhel_decides_by_fstab_and_bios_core(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    empty_the_esp(tree)
    assert facts_of(tree).boot_mode == "UEFI"
    write_guest_file(tree, "/boot/grub2/i386-pc/normal.mod", "")
    assert facts_of(tree).boot_mode == "BIOS"      # hybrid


def test_commented_esp_lines_do_not_count(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    empty_the_esp(tree)
    fstab = tree / "etc/fstab"
    fstab.write_text("".join("#" + line if "/boot/efi" in line else line
                             for line in fstab.read_text().splitlines(True)))
    assert facts_of(tree).boot_mode == "BIOS"


def test_arm64_guests_are_uefi(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    os.unlink(str(tree / "usr/bin/sh"))
    write_guest_file(tree, "/usr/bin/sh", b"\x7fELF\x02\x01\x01" + b"\0" * 11 + b"\xb7\x00" + b"\0" * 40)
    facts = facts_of(tree)
    assert (facts.architecture, facts.boot_mode) == ("arm64", "UEFI")
