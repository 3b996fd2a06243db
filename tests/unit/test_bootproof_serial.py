"""Parsing test guests' serial logs (image_repair_lab.bootproof.serial)."""
from pathlib import Path

from image_repair_lab.bootproof import serial

DATA = Path(__file__).parent / "data" / "bootproof"
ROOT_UUID = "212cd2e7-f837-473e-aff7-16818e9a93f3"

# initramfs-tools giving up on a root it cannot see (a disk whose driver is not in the initramfs).
INITRAMFS_GAVE_UP = """\
[    2.100000] Run /init as init process
Begin: Waiting for root file system ... Begin: Running /scripts/local-block ... done.
done.
Gave up waiting for root file system device.  Common problems:
 - Boot args (cat /proc/cmdline)
   - Check rootdelay= (did the system wait long enough?)
 - Missing modules (cat /proc/modules; ls /dev)
ALERT!  /dev/sda1 does not exist.  Dropping to a shell!


BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)
Enter 'help' for a list of built-in commands.

(initramfs) \x1b[6n"""

# A guest without eth0 (only ens3 configured): the marker still runs.
NO_ETH0 = """\
IMAGE-REPAIR-BOOT marker kernel=6.1.0-50-cloud-amd64
IMAGE-REPAIR-BOOT findmnt: TARGET SOURCE         FSTYPE UUID                                 OPTIONS
IMAGE-REPAIR-BOOT findmnt: /      /dev/nvme0n1p1 ext4   %s rw,relatime,errors=remount-ro
IMAGE-REPAIR-BOOT ip: Device "eth0" does not exist.
IMAGE-REPAIR-BOOT end
""" % ROOT_UUID


def test_healthy_log_parses_marker_root_eth0_and_cmdline():
    report = serial.parse((DATA / "healthy-virtio.log").read_text())
    assert report.marker and report.complete
    assert report.kernel == "6.1.0-50-cloud-amd64"
    assert (report.root_source, report.root_fstype, report.root_uuid) == ("/dev/vda1", "ext4", ROOT_UUID)
    assert report.root_options == "rw,relatime,errors=remount-ro"
    assert report.eth0_exists and report.eth0_addresses == ["10.0.2.15/24"]
    assert report.cmdline_root() == "UUID=" + ROOT_UUID
    assert report.kernel_console
    assert report.failures == []
    assert report.problems(ROOT_UUID) == []


def test_healthy_log_judged_against_other_expectations():
    report = serial.parse((DATA / "healthy-virtio.log").read_text())
    assert report.problems("0000-other") == ["root filesystem UUID %s, expected 0000-other" % ROOT_UUID,
                                             "kernel root=UUID=%s, expected UUID=0000-other" % ROOT_UUID]
    assert report.problems(ROOT_UUID, address="100.100.100.15") == [
        "eth0 has 10.0.2.15/24, expected DHCP 100.100.100.15"]


def test_initramfs_failure_detected_and_named():
    assert serial.first_failure(INITRAMFS_GAVE_UP) == "initramfs gave up waiting for root"
    report = serial.parse(INITRAMFS_GAVE_UP)
    assert not report.marker
    assert report.failures == ["initramfs gave up waiting for root", "initramfs dropped to a shell"]
    assert report.problems(ROOT_UUID) == [
        "no boot marker (initramfs gave up waiting for root, initramfs dropped to a shell)"]


def test_emergency_mode_and_dracut_and_panic_patterns():
    assert serial.first_failure("\x1b[0;1;31mYou are in emergency mode.\x1b[0m After logging in") == "emergency mode"
    assert serial.first_failure("dracut-initqueue[312]: Warning: dracut-initqueue: timeout, still waiting") == \
        "dracut timeout"
    assert serial.first_failure("Kernel panic - not syncing: VFS: Unable to mount root fs") == "kernel panic"
    assert serial.first_failure("\x1b[2;24HGNU GRUB  version 2.06\r\n\r\ngrub> ") == "grub prompt"
    assert serial.first_failure((DATA / "healthy-virtio.log").read_text()) is None


def test_no_eth0_and_no_kernel_console():
    report = serial.parse(NO_ETH0)
    assert report.marker and not report.eth0_exists and report.eth0_addresses == []
    assert report.root_source == "/dev/nvme0n1p1"
    assert report.problems(ROOT_UUID) == ["no kernel console on ttyS0", "eth0 has no eth0, expected DHCP 10.0.2.15"]


def test_lvm_root_accepted_by_mapper_name():
    text = "[    0.000000] Kernel command line: BOOT_IMAGE=/vmlinuz root=/dev/mapper/vg0-root ro console=ttyS0\n" + \
        NO_ETH0.replace('IMAGE-REPAIR-BOOT ip: Device "eth0" does not exist.',
                        "IMAGE-REPAIR-BOOT ip: 2: eth0: <UP> mtu 1500\nIMAGE-REPAIR-BOOT ip:     inet 10.0.2.15/24 brd")
    report = serial.parse(text)
    assert report.problems(ROOT_UUID) == ["kernel root=/dev/mapper/vg0-root, expected UUID=%s" % ROOT_UUID]
    assert report.problems(ROOT_UUID, lvm_root="/dev/mapper/vg0-root") == []


def test_marker_complete_needs_the_end_line():
    assert serial.marker_complete(NO_ETH0)
    assert not serial.marker_complete(NO_ETH0.replace("IMAGE-REPAIR-BOOT end\n", ""))


def test_findmnt_row_without_uuid():
    text = ("IMAGE-REPAIR-BOOT marker kernel=x\nIMAGE-REPAIR-BOOT findmnt: TARGET SOURCE FSTYPE UUID OPTIONS\n"
            "IMAGE-REPAIR-BOOT findmnt: / rootfs tmpfs rw\n")
    report = serial.parse(text)
    assert (report.root_source, report.root_fstype, report.root_uuid, report.root_options) == \
        ("rootfs", "tmpfs", None, "rw")


def test_real_log_of_a_guest_without_virtio_in_its_initramfs():
    """Recorded from the virtio-missing cell: initramfs-tools gives up on root=UUID=... (no virtio_blk)."""
    text = (DATA / "no-virtio-initramfs.log").read_text()
    report = serial.parse(text)
    assert not report.marker
    assert report.cmdline_root() == "UUID=" + ROOT_UUID
    assert serial.first_failure(text) == "initramfs gave up waiting for root"
    assert "initramfs dropped to a shell" in report.failures


def test_a_system_disk_mount_that_timed_out_fails_the_boot():
    # what systemd printed on repaired guests whose /boot/efi had a 10 s device timeout under TCG
    log = (DATA / "healthy-virtio.log").read_text().replace(
        "IMAGE-REPAIR-BOOT end",
        "[ TIME ] Timed out waiting for device \x1b[0;1;39mdev-disk-by\\x2duuid-7A3B\\x2d1C2D.device\x1b[0m.\n"
        "[DEPEND] Dependency failed for \x1b[0;1;39mboot-efi.mount\x1b[0m - /boot/efi.\n"
        "IMAGE-REPAIR-BOOT end")
    report = serial.parse(log)
    log = log.replace("IMAGE-REPAIR-BOOT end", "[DEPEND] Dependency failed for data.mount - /data.\n"
                      "IMAGE-REPAIR-BOOT end")
    report = serial.parse(log)
    assert report.failed_mounts == ["boot-efi.mount", "data.mount"]
    # /data is on a disk that is not attached (nofail): only the system disk's mounts count
    assert report.problems(ROOT_UUID, disk_mounts=("/boot", "/boot/efi")) == ["mounts failed: boot-efi.mount"]
    assert report.problems(ROOT_UUID) == []
    assert serial.mount_unit("/boot/efi") == "boot-efi.mount" and serial.mount_unit("/") == "-.mount"


# A real log (the boot matrix's no-serial-console cell, repaired guest on NVMe, CI of 2026-12-03): the
# Debian 13 cloud kernel took a double fault in kthreadd at 1.1 s, before init and before any disk
# driver; the same disk had booted on virtio a minute before.
TCG_DOUBLE_FAULT = (DATA / "tcg-double-fault-before-init.serial.log").read_text(errors="replace")


def test_a_kernel_crash_before_init_is_named_qemus_fault():
    assert serial.first_failure(TCG_DOUBLE_FAULT) == "kernel panic"
    why = serial.emulator_fault(TCG_DOUBLE_FAULT)
    assert why is not None and "double fault" in why and "before init" in why


def test_a_crash_after_init_or_a_missing_root_is_the_guests_own():
    after_init = "[    3.5] Run /init as init process\n[    9.1] Oops: 0000 [#1] PREEMPT SMP\n" \
                 "[    9.2] Kernel panic - not syncing: Fatal exception\n"
    assert serial.first_failure(after_init) == "kernel panic"
    assert serial.emulator_fault(after_init) is None
    no_root = "[    1.1] general protection fault\n[    2.0] VFS: Unable to mount root fs on unknown-block(0,0)\n"
    assert serial.emulator_fault(no_root) is None
    assert serial.emulator_fault(INITRAMFS_GAVE_UP) is None
    assert serial.emulator_fault((DATA / "healthy-virtio.log").read_text(errors="replace")) is None
