"""BootPlan and read_kernel_args on fixture trees, with stub grub tools run for real in a chroot."""
import os

import pytest

from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.kernel_cmdline import expected_root, missing_kernel_args, read_kernel_args
from image_repair.agent.guest.model import GRUB2, GRUB2_BLS, GRUB_LEGACY, GuestFacts
from tests.fixtures import stubs_grub


ROOT_UUID = "5a1c6f0e-3b5e-4d3c-9d55-0c1f2b3a4d5e"
LAYOUT = {"table": "mbr", "filesystems": [
    {"device": "/dev/loop4", "partition": 1, "lvm": None, "fstype": "ext4", "uuid": ROOT_UUID,
     "label": None, "partuuid": None, "mountpoint": "/", "subvol": None}]}
GRUB_ADD = ["console=tty0", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"]


def write(root, path, text):
    host = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(host), exist_ok=True)
    with open(host, "w") as handle:
        handle.write(text)


def read(root, path):
    with open(os.path.join(str(root), path.lstrip("/"))) as handle:
        return handle.read()


def snapshot(root):
    files = {}
    for folder, _dirs, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                with open(path, "rb") as handle:
                    files[os.path.relpath(path, str(root))] = handle.read()
    return files


def facts(bootloader, cfgs=(), mkconfig=None):
    result = GuestFacts()
    result.bootloader = bootloader
    result.grub_cfg = list(cfgs)
    result.grub_mkconfig = mkconfig
    return result


@pytest.fixture
def grub2_guest(tmp_path):
    root = tmp_path / "rhel7"
    write(root, "/etc/default/grub", 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=auto rhgb quiet"\n'
                                     "GRUB_DISABLE_LINUX_UUID=true\n")
    write(root, "/boot/vmlinuz-3.10.0-1160.el7.x86_64", "kernel")
    write(root, "/boot/grub2/grub.cfg", "menuentry 'old' {\n\tlinux16 /vmlinuz root=/dev/sda1 ro\n}\n")
    tool = stubs_grub.install_mkconfig(root, "grub2-mkconfig")
    stubs_grub.give_root_uuid(root, ROOT_UUID)
    return root, facts(GRUB2, ["/boot/grub2/grub.cfg"], tool)


def test_expected_root_for_lvm_and_partitions():
    assert expected_root(LAYOUT) == "UUID=" + ROOT_UUID
    lvm = {"filesystems": [{"mountpoint": "/", "lvm": "vg-sys/root", "uuid": "x"}]}
    assert expected_root(lvm) == "/dev/mapper/vg--sys-root"
    assert expected_root({"filesystems": []}) is None


def test_malformed_default_grub_fails_every_requester_and_changes_nothing(tmp_path):
    root = tmp_path / "bad"
    write(root, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="quiet\n')
    before = snapshot(root)
    guest = Guest(str(root), facts(GRUB2, [], "/usr/sbin/grub-mkconfig"), LAYOUT)
    guest.boot.require_args("grub", add=GRUB_ADD)
    guest.boot.require_args("dhcp", add=["net.ifnames=0"])
    errors = guest.boot.apply(guest)
    assert set(errors) == {"grub", "dhcp"}
    assert "malformed" in errors["grub"]
    assert snapshot(root) == before
    assert guest.fs.record.commands == []


def test_no_bootloader_is_an_error_for_the_requesters(tmp_path):
    guest = Guest(str(tmp_path), facts(None), LAYOUT)
    guest.boot.require_args("grub", add=GRUB_ADD)
    assert "no supported bootloader" in guest.boot.apply(guest)["grub"]


def test_bls_with_kernelopts_in_grubenv_is_read(tmp_path):
    root = tmp_path / "centos8"
    write(root, "/boot/loader/entries/x.conf", "title c8\noptions $kernelopts $tuned_params\n")
    body = "# GRUB Environment Block\nkernelopts=root=/dev/mapper/cl-root ro enforcing=1\n"
    write(root, "/boot/grub2/grubenv", body + "#" * (1024 - len(body)))
    guest = Guest(str(root), facts(GRUB2_BLS), LAYOUT)
    assert read_kernel_args(guest) == ["root=/dev/mapper/cl-root", "ro", "enforcing=1"]
    # without grubby the entries and grubenv are edited directly
    guest.boot.require_args("selinux", remove=["enforcing="])
    notes = []
    guest.boot.require_args("grub", add=["console=tty0"], notes=notes)
    assert guest.boot.apply(guest) == {}
    assert read_kernel_args(guest) == ["root=/dev/mapper/cl-root", "ro", "console=tty0"]
    assert len(read(root, "/boot/grub2/grubenv")) == 1024
    assert read(root, "/boot/loader/entries/x.conf") == "title c8\noptions $kernelopts $tuned_params\n"
    assert any("grubby not found" in n for n in notes)


def test_grub_legacy_menu_edited_directly_once_through_the_symlink(tmp_path):
    root = tmp_path / "centos6"
    menu = ("default=0\ntimeout=5\ntitle CentOS 6 (2.6.32-754.el6.x86_64)\n\troot (hd0,0)\n"
            "\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda1 rd_NO_LUKS rhgb quiet\n"
            "\tinitrd /initramfs-2.6.32-754.el6.x86_64.img\n")
    write(root, "/boot/grub/grub.conf", menu)
    os.symlink("./grub.conf", str(root / "boot/grub/menu.lst"))
    guest = Guest(str(root), facts(GRUB_LEGACY), LAYOUT)
    guest.boot.require_args("grub", add=GRUB_ADD + ["root=UUID=" + ROOT_UUID], remove=["root=/dev/sda1"])
    assert guest.boot.apply(guest) == {}
    assert read(root, "/boot/grub/grub.conf") == menu.replace(
        "ro root=/dev/sda1 rd_NO_LUKS rhgb quiet",
        "ro rd_NO_LUKS rhgb quiet console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0 root=UUID=" + ROOT_UUID)
    assert os.path.islink(str(root / "boot/grub/menu.lst"))
    assert guest.fs.record.files == ["/boot/grub/menu.lst"]
    assert guest.fs.record.commands == []


def test_grub_legacy_menu_on_the_esp_is_edited_too(tmp_path):
    root = tmp_path / "centos6-uefi"
    menu = "default=0\ntitle CentOS 6\n\tkernel /vmlinuz-2.6.32 ro root=/dev/sda2 quiet\n"
    write(root, "/boot/efi/EFI/redhat/grub.conf", menu)
    guest = Guest(str(root), facts(GRUB_LEGACY, ["/boot/efi/EFI/redhat/grub.conf"]), LAYOUT)
    assert "root=/dev/sda2" in read_kernel_args(guest)
    guest.boot.require_args("grub", add=["console=tty0", "root=UUID=" + ROOT_UUID], remove=["root=/dev/sda2"])
    assert guest.boot.apply(guest) == {}
    assert read(root, "/boot/efi/EFI/redhat/grub.conf") == menu.replace(
        "ro root=/dev/sda2 quiet", "ro quiet console=tty0 root=UUID=" + ROOT_UUID)


def test_sles11_default_append_follows_the_menu(tmp_path):
    root = tmp_path / "sles11"
    write(root, "/boot/grub/menu.lst", "title SLES 11\n    kernel /boot/vmlinuz root=/dev/sda1 resume=/dev/sda2 splash=silent\n")
    write(root, "/etc/sysconfig/bootloader", '## Type: string\nLOADER_TYPE="grub"\n'
                                              'DEFAULT_APPEND="resume=/dev/sda2 splash=silent showopts"\n')
    guest = Guest(str(root), facts(GRUB_LEGACY, ["/boot/grub/menu.lst"]), LAYOUT)
    assert "showopts" in read_kernel_args(guest)
    guest.boot.require_args("grub", add=["console=tty0", "resume=UUID=abc", "root=UUID=" + ROOT_UUID],
                            remove=["root=/dev/sda1", "resume=/dev/sda2"])
    assert guest.boot.apply(guest) == {}
    assert read(root, "/etc/sysconfig/bootloader").splitlines()[-1] == (
        'DEFAULT_APPEND="splash=silent showopts console=tty0 resume=UUID=abc"')
    assert read(root, "/boot/grub/menu.lst").splitlines()[-1] == (
        "    kernel /boot/vmlinuz splash=silent console=tty0 resume=UUID=abc root=UUID=" + ROOT_UUID)
    assert missing_kernel_args(guest, ["console=tty0", "resume=UUID=abc"]) == []


def test_dry_run_writes_nothing_and_records_the_command(grub2_guest):
    root, guest_facts = grub2_guest
    before = snapshot(root)
    guest = Guest(str(root), guest_facts, LAYOUT, dry_run=True)
    guest.boot.require_args("grub", add=GRUB_ADD)
    assert guest.boot.apply(guest) == {}
    assert snapshot(root) == before
    assert guest.fs.record.commands == ["grub2-mkconfig -o /boot/grub2/grub.cfg"]
    assert any("console=ttyS0,115200n8" in d for d in guest.fs.record.diffs)
