"""BootPlan on fixture trees with stub grub tools (grub2-mkconfig, grubby) run for real in a chroot.

The pure cases are in tests/unit/test_bootloader_plan.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os

import pytest

from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.kernel_cmdline import missing_kernel_args, read_kernel_args
from image_repair.agent.guest.model import GRUB2, GRUB2_BLS
from image_repair.agent.guestfs import BACKUP_DIR
from tests.fixtures import stubs_grub
from tests.unit.test_bootloader_plan import GRUB_ADD, LAYOUT, ROOT_UUID, facts, grub2_guest, read, snapshot, write

pytestmark = pytest.mark.needs_root


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


def test_grub2_without_any_entry_is_an_error(grub2_guest):
    root, guest_facts = grub2_guest
    stubs_grub.give_no_entries(root)
    write(root, "/boot/grub2/grub.cfg", "# empty\n")
    guest = Guest(str(root), guest_facts, LAYOUT)
    guest.boot.require_args("grub", add=GRUB_ADD)
    assert "generated no boot entry" in guest.boot.apply(guest)["grub"]


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


BLS_ENTRY = ("title Rocky Linux (4.18.0-477.el8.x86_64) 8.8\nversion 4.18.0-477.el8.x86_64\n"
             "linux /vmlinuz-4.18.0-477.el8.x86_64\ninitrd /initramfs-4.18.0-477.el8.x86_64.img\n"
             "options root=/dev/sda2 ro crashkernel=auto enforcing=1 rhgb quiet\n")


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
