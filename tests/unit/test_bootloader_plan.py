"""BootPlan and read_kernel_args on fixture trees, with stub grub tools run for real in a chroot."""
import os

import pytest

from image_repair.agent.guest.bootloader import expected_root, missing_kernel_args, read_kernel_args
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import GRUB2, GRUB2_BLS, GRUB_LEGACY, GuestFacts
from image_repair.agent.guestfs import BACKUP_DIR
from tests.fixtures import stubs_grub

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")

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


@needs_root
def test_grub2_one_regeneration_for_several_items_then_nothing(grub2_guest):
    root, guest_facts = grub2_guest
    guest = Guest(str(root), guest_facts, LAYOUT)
    assert "root=/dev/sda1" in read_kernel_args(guest)
    notes = []
    guest.boot.require_args("grub", add=GRUB_ADD, remove=["root=/dev/sda1"], notes=notes)
    guest.boot.require_args("nvme", add=["nvme_core.io_timeout=4294967295"])
    guest.boot.require_args("selinux", remove=["enforcing="])
    assert guest.boot.requested_by() == ["grub", "nvme", "selinux"]
    assert guest.boot.apply(guest) == {}
    assert stubs_grub.read_grub_calls(root) == ["grub2-mkconfig -o /boot/grub2/grub.cfg"]
    assert read(root, "/etc/default/grub") == (
        'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=auto rhgb quiet console=tty0 console=ttyS0,115200n8 '
        'net.ifnames=0 biosdevname=0 nvme_core.io_timeout=4294967295"\n'
        "# image-repair: commented out, the root must be given by UUID: GRUB_DISABLE_LINUX_UUID=true\n")
    cfg = read(root, "/boot/grub2/grub.cfg")
    assert ("\tlinux\t/boot/vmlinuz-3.10.0-1160.el7.x86_64 root=UUID=%s ro crashkernel=auto rhgb quiet console=tty0 "
            "console=ttyS0,115200n8 net.ifnames=0 biosdevname=0 nvme_core.io_timeout=4294967295 \n" % ROOT_UUID) in cfg
    assert any("GRUB_DISABLE_LINUX_UUID" in n for n in notes)
    assert os.path.exists(os.path.join(str(root), BACKUP_DIR.lstrip("/"), "etc/default/grub"))
    assert missing_kernel_args(guest, GRUB_ADD + ["nvme_core.io_timeout=4294967295"]) == []
    # apply is once per run
    assert guest.boot.apply(guest) == {}
    assert len(stubs_grub.read_grub_calls(root)) == 1

    # a second run with the same requests changes no file
    before = snapshot(root)
    again = Guest(str(root), guest_facts, LAYOUT)
    again.boot.require_args("grub", add=GRUB_ADD, remove=["root=/dev/sda1"])
    assert again.boot.apply(again) == {}
    after = snapshot(root)
    after.pop("var/log/stub-calls.log")
    before.pop("var/log/stub-calls.log")
    assert after == before


@needs_root
def test_grub2_root_named_by_a_host_device_is_corrected_with_a_note(grub2_guest):
    root, guest_facts = grub2_guest
    stubs_grub.give_root_device(root, "/dev/loop4")  # what grub-mkconfig writes without the by-uuid link
    guest = Guest(str(root), guest_facts, LAYOUT)
    notes = []
    guest.boot.require_args("grub", add=GRUB_ADD, notes=notes)
    assert guest.boot.apply(guest) == {}
    cfg = read(root, "/boot/grub2/grub.cfg")
    assert "root=/dev/loop4" not in cfg
    assert "root=UUID=%s" % ROOT_UUID in cfg
    assert any("/dev/loop4" in n and "corrected" in n for n in notes)


@needs_root
def test_grub2_without_generated_entries_edits_the_previous_cfg(grub2_guest):
    root, guest_facts = grub2_guest
    stubs_grub.give_no_entries(root)
    guest = Guest(str(root), guest_facts, LAYOUT)
    notes = []
    guest.boot.require_args("grub", add=GRUB_ADD, remove=["root=/dev/sda1"], notes=notes)
    assert guest.boot.apply(guest) == {}
    assert read(root, "/boot/grub2/grub.cfg") == (
        "menuentry 'old' {\n\tlinux16 /vmlinuz ro %s root=UUID=%s\n}\n" % (" ".join(GRUB_ADD), ROOT_UUID))
    assert any("generated no boot entry" in n for n in notes)
    assert read(root, BACKUP_DIR + "/boot/grub2/grub.cfg") == "menuentry 'old' {\n\tlinux16 /vmlinuz root=/dev/sda1 ro\n}\n"
    assert "/boot/grub2/grub.cfg" in guest.fs.record.files


@needs_root
def test_grub2_without_any_entry_is_an_error(grub2_guest):
    root, guest_facts = grub2_guest
    stubs_grub.give_no_entries(root)
    write(root, "/boot/grub2/grub.cfg", "# empty\n")
    guest = Guest(str(root), guest_facts, LAYOUT)
    guest.boot.require_args("grub", add=GRUB_ADD)
    assert "generated no boot entry" in guest.boot.apply(guest)["grub"]


def test_expected_root_for_lvm_and_partitions():
    assert expected_root(LAYOUT) == "UUID=" + ROOT_UUID
    lvm = {"filesystems": [{"mountpoint": "/", "lvm": "vg-sys/root", "uuid": "x"}]}
    assert expected_root(lvm) == "/dev/mapper/vg--sys-root"
    assert expected_root({"filesystems": []}) is None


@needs_root
def test_grub2_efi_wrapper_is_not_regenerated_and_missing_cfg_is_created(tmp_path):
    root = tmp_path / "fedora"
    write(root, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="rhgb"\n')
    wrapper = "search --no-floppy --fs-uuid --set=dev abcd\nset prefix=($dev)/grub2\nconfigfile $prefix/grub.cfg\n"
    write(root, "/boot/efi/EFI/fedora/grub.cfg", wrapper)
    write(root, "/boot/grub2/grubenv", "# GRUB Environment Block\n" + "#" * 999)
    write(root, "/boot/vmlinuz-6.5.6", "kernel")
    tool = stubs_grub.install_mkconfig(root, "grub2-mkconfig")
    stubs_grub.give_root_uuid(root, ROOT_UUID)
    guest = Guest(str(root), facts(GRUB2, ["/boot/efi/EFI/fedora/grub.cfg"], tool), LAYOUT)
    notes = []
    guest.boot.require_args("grub", add=GRUB_ADD, notes=notes)
    assert guest.boot.apply(guest) == {}
    assert stubs_grub.read_grub_calls(root) == ["grub2-mkconfig -o /boot/grub2/grub.cfg"]
    assert read(root, "/boot/efi/EFI/fedora/grub.cfg") == wrapper
    assert "console=ttyS0,115200n8" in read(root, "/boot/grub2/grub.cfg")


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


BLS_ENTRY = ("title Rocky Linux (4.18.0-477.el8.x86_64) 8.8\nversion 4.18.0-477.el8.x86_64\n"
             "linux /vmlinuz-4.18.0-477.el8.x86_64\ninitrd /initramfs-4.18.0-477.el8.x86_64.img\n"
             "options root=/dev/sda2 ro crashkernel=auto enforcing=1 rhgb quiet\n")


@needs_root
def test_bls_uses_grubby_with_concrete_arguments_and_updates_defaults(tmp_path):
    root = tmp_path / "rocky8"
    write(root, "/boot/loader/entries/abc-4.18.0-477.el8.x86_64.conf", BLS_ENTRY)
    write(root, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="crashkernel=auto enforcing=1 rhgb quiet"\n'
                                     "GRUB_ENABLE_BLSCFG=true\n")
    write(root, "/etc/kernel/cmdline", "root=/dev/sda2 ro crashkernel=auto enforcing=1 rhgb quiet\n")
    stubs_grub.install_grubby(root)
    guest = Guest(str(root), facts(GRUB2_BLS, ["/boot/grub2/grub.cfg"], "/usr/sbin/grub2-mkconfig"), LAYOUT)
    notes = []
    guest.boot.require_args("grub", add=GRUB_ADD + ["root=UUID=" + ROOT_UUID], remove=["root=/dev/sda2"],
                            notes=notes)
    guest.boot.require_args("selinux", remove=["enforcing="])
    assert guest.boot.apply(guest) == {}
    assert stubs_grub.read_grub_calls(root) == [
        "grubby --update-kernel=ALL --args=console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0 "
        "root=UUID=%s --remove-args=root=/dev/sda2 enforcing=1" % ROOT_UUID]
    # grubby's "console=ttyS0,115200n8" replaced its own "console=tty0": the entry is completed directly
    options = read(root, "/boot/loader/entries/abc-4.18.0-477.el8.x86_64.conf").splitlines()[-1]
    assert options == ("options ro crashkernel=auto rhgb quiet net.ifnames=0 biosdevname=0 root=UUID=%s "
                       "console=tty0 console=ttyS0,115200n8" % ROOT_UUID)
    assert any("grubby left" in n and "edited directly" in n for n in notes), notes
    assert read(root, "/etc/kernel/cmdline") == (
        "ro crashkernel=auto rhgb quiet console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0 "
        "root=UUID=%s\n" % ROOT_UUID)
    # root= never goes to /etc/default/grub (grub2-mkconfig writes the root itself)
    assert read(root, "/etc/default/grub").splitlines()[0] == (
        'GRUB_CMDLINE_LINUX="crashkernel=auto rhgb quiet console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0"')
    assert "enforcing=1" not in read_kernel_args(guest)

    # second run: nothing to do, grubby not called again
    again = Guest(str(root), guest.facts, LAYOUT)
    again.boot.require_args("grub", add=GRUB_ADD + ["root=UUID=" + ROOT_UUID], remove=["root=/dev/sda2"])
    before = snapshot(root)
    assert again.boot.apply(again) == {}
    assert len(stubs_grub.read_grub_calls(root)) == 1
    assert snapshot(root) == before


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
