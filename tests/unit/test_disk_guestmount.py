"""fstab parsing, device-spec resolution, mount options and the layout dict (pure logic)."""
from image_repair.agent.disk import guestmount
from image_repair.agent.disk.partitions import Partition, PartitionTable
from image_repair.agent.disk.volumes import Volume


def partition(number, esp=False):
    return Partition(number, number * 1048576, 1048576, "0x83", "Linux", esp, "abcd0001-%02x" % number)


def guest_volumes():
    esp = Volume("/dev/loop1", "vfat", "1234-ABCD", "ESP", partition(1, esp=True), "abcd0001-01", "EFI")
    boot = Volume("/dev/loop2", "ext4", "b0b0b0b0-0000-4000-8000-000000000002", "boot", partition(2), "abcd0001-02")
    root = Volume("/dev/loop3", "xfs", "5e5e5e5e-0000-4000-8000-000000000003", None, None, lvm_name="my-vg/root")
    swap = Volume("/dev/loop4", "swap", "5a5a5a5a-0000-4000-8000-000000000004", None, partition(3), "abcd0001-03")
    return esp, boot, root, swap


def test_resolve_every_kind_of_spec():
    esp, boot, root, swap = vols = guest_volumes()
    cases = {
        "UUID=1234-abcd": esp, 'UUID="b0b0b0b0-0000-4000-8000-000000000002"': boot, "LABEL=boot": boot,
        "PARTUUID=ABCD0001-03": swap, "PARTLABEL=EFI": esp, "/dev/disk/by-uuid/1234-ABCD": esp,
        "/dev/disk/by-label/ESP": esp, "/dev/mapper/my--vg-root": root, "/dev/my-vg/root": root,
        "/dev/sda2": boot, "/dev/vda3": swap, "/dev/xvda1": esp, "/dev/hda2": boot, "/dev/nvme0n1p1": esp,
        "/dev/sdb1": None, "UUID=0000": None, "/dev/mapper/other-root": None, "tmpfs": None,
    }
    for spec, expected in cases.items():
        assert guestmount.resolve_spec(spec, vols) is expected, spec


def test_the_system_disk_name_comes_from_the_root_entry():
    vols = guest_volumes()
    entries = guestmount.parse_fstab("/dev/vdb3 / ext4 defaults 0 1\n/dev/vdb2 /boot ext4 defaults 0 2\n")
    disk = guestmount.system_disk_of(entries)
    assert disk == "vdb"
    assert guestmount.resolve_spec("/dev/vdb2", vols, disk) is vols[1]
    assert guestmount.resolve_spec("/dev/vda2", vols, disk) is None


def test_parse_fstab_skips_comments_and_decodes_spaces():
    entries = guestmount.parse_fstab("# comment\n\nUUID=x /mnt/my\\040disk ext4 defaults,subvol=/@data 0 2\n"
                                     "LABEL=y /srv xfs\nbroken-line\n")
    assert [(e.spec, e.mountpoint, e.fstype) for e in entries] == [
        ("UUID=x", "/mnt/my disk", "ext4"), ("LABEL=y", "/srv", "xfs")]
    assert entries[0].subvol == "@data" and entries[1].options == ["defaults"]


def test_mount_options():
    assert guestmount.mount_options("ext4", True) == "ro,noload"
    assert guestmount.mount_options("ext4", False) is None
    assert guestmount.mount_options("xfs", True) == "ro,nouuid,norecovery"
    assert guestmount.mount_options("xfs", False) == "nouuid"
    assert guestmount.mount_options("btrfs", False, "@") == "subvol=@"
    assert guestmount.mount_options("btrfs", True, "@root") == "ro,subvol=@root"


def test_layout_dict_and_summary():
    esp, boot, root, swap = vols = guest_volumes()
    table = PartitionTable("gpt", [esp.partition, boot.partition, swap.partition])
    entries = guestmount.parse_fstab("/dev/mapper/my--vg-root / xfs defaults 0 0\nLABEL=boot /boot ext4 defaults 0 0\n"
                                     "UUID=1234-ABCD /boot/efi vfat umask=0077 0 0\n/dev/sda3 none swap sw 0 0\n")
    resolved = [(e, guestmount.resolve_spec(e.spec, vols)) for e in entries]
    layout = guestmount.build_layout(table, "/dev/loop0", list(vols), root, None, resolved, {"/", "/boot"})
    assert layout["summary"] == "gpt; / xfs on LV my-vg/root; /boot ext4 on partition 2; /boot/efi vfat on partition 1"
    assert layout["table"] == "gpt" and layout["disk_device"] == "/dev/loop0" and layout["boot_mode_hint"] == "UEFI"
    by_mount = dict((f["mountpoint"], f) for f in layout["filesystems"])
    assert by_mount["/"]["lvm"] == "my-vg/root" and by_mount["/"]["partition"] is None
    assert by_mount["/boot"]["mounted"] and not by_mount["/boot/efi"]["mounted"]
    assert by_mount[None]["fstype"] == "swap" and by_mount[None]["partition"] == 3
    assert len(layout["filesystems"]) == 4
