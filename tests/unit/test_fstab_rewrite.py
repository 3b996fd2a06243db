"""fstab rewrite: golden files (input -> expected) for usual, unusual and malformed fstabs."""
import pytest

from image_repair.agent.guest.fstab_rewrite import device_disk, rewrite_fstab

from .golden_files import cases, check, read

EFI_UUID = "7A3B-1C2D"
BOOT_UUID = "11111111-2222-3333-4444-555555555555"
ROOT_UUID = "0d7c5e2a-9b1f-4c3e-8a6d-2f4e6b8c0a1e"
SWAP_UUID = "c0ffee00-1234-4abc-9def-000000000004"

# GPT disk: ESP, /boot, /, swap; plus an LVM volume group on the same disk.
LAYOUT = {
    "table": "gpt",
    "filesystems": [
        {"device": "/dev/loop5", "partition": 1, "lvm": None, "fstype": "vfat", "uuid": EFI_UUID,
         "label": None, "partuuid": "aaaa-01", "mountpoint": "/boot/efi", "subvol": None},
        {"device": "/dev/loop6", "partition": 2, "lvm": None, "fstype": "ext4", "uuid": BOOT_UUID,
         "label": None, "partuuid": "aaaa-02", "mountpoint": "/boot", "subvol": None},
        {"device": "/dev/loop7", "partition": 3, "lvm": None, "fstype": "ext4", "uuid": ROOT_UUID,
         "label": "root", "partuuid": "aaaa-03", "mountpoint": "/", "subvol": None},
        {"device": "/dev/loop8", "partition": 4, "lvm": None, "fstype": "swap", "uuid": SWAP_UUID,
         "label": None, "partuuid": "aaaa-04", "mountpoint": None, "subvol": None},
        {"device": None, "partition": None, "lvm": "vg0/root", "fstype": "xfs", "uuid": "lvm-root-uuid",
         "label": None, "partuuid": None, "mountpoint": None, "subvol": None},
        {"device": None, "partition": None, "lvm": "vg0/swap", "fstype": "swap", "uuid": "lvm-swap-uuid",
         "label": None, "partuuid": None, "mountpoint": None, "subvol": None},
    ],
}


@pytest.mark.parametrize("case", cases("fstab"))
def test_fstab_golden(case):
    text = read("fstab", case + ".input")
    new, findings, _blockers = rewrite_fstab(text, LAYOUT)
    check("fstab", case, new)
    if new != text:
        assert findings
    # a second run changes nothing
    assert rewrite_fstab(new, LAYOUT)[0] == new


def test_device_names_become_uuids_of_the_same_partition():
    new, findings, blockers = rewrite_fstab(read("fstab", "debian_device_names.input"), LAYOUT)
    assert "UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n" % ROOT_UUID in new
    # on the system disk: nofail, and systemd's default wait (a 10 s limit can run out on a slow boot)
    assert "UUID=%s\t/boot\text4\tdefaults,nofail\t0\t2\n" % BOOT_UUID in new
    assert "UUID=%s\tnone\tswap\tsw,nofail\t0\t0\n" % SWAP_UUID in new
    assert "/dev/sr0\t/media/cdrom0\tudf,iso9660\tuser,noauto\t0\t0\n" in new  # noauto and not a disk: kept
    assert "line 4: /dev/sda3 -> UUID=%s (/)" % ROOT_UUID in findings
    assert blockers == []


def test_without_systemd_only_nofail_is_added():
    new, _findings, _ = rewrite_fstab("/dev/sda3 / ext4 defaults 1 1\n/dev/sda2 /boot ext4 defaults 1 2\n",
                                      LAYOUT, systemd=False)
    assert new == "UUID=%s / ext4 defaults 1 1\nUUID=%s /boot ext4 defaults,nofail 1 2\n" % (ROOT_UUID, BOOT_UUID)


def test_other_disks_and_unknown_filesystems_get_nofail_and_are_kept():
    new, findings, blockers = rewrite_fstab(read("fstab", "other_disks_network_pseudo.input"), LAYOUT)
    assert "/dev/vdb1 /data ext4 defaults,nofail,x-systemd.device-timeout=10s 0 2\n" in new
    assert any("names another disk (vdb)" in f for f in findings)
    assert "nas:/export /mnt/nas nfs rw,hard,nofail 0 0\n" in new
    assert "tmpfs /tmp tmpfs defaults,size=1G 0 0\n" in new
    assert "/srv/www /var/www none bind 0 0\n" in new
    assert blockers == []


def test_malformed_lines_are_commented_never_deleted():
    text = read("fstab", "malformed_duplicates_no_final_newline.input")
    new, findings, _ = rewrite_fstab(text, LAYOUT)
    assert "# image-repair: malformed, commented: this line is broken\n" in new
    assert "# image-repair: malformed, commented: /dev/hda2 /boot ext4 defaults 0 two\n" in new
    assert "# image-repair: malformed, commented: UUID= /x ext4 defaults 0 0\n" in new
    assert "# image-repair: duplicate mount point, commented: /dev/hda2 /boot ext4 defaults 0 2\n" in new
    assert len(new.splitlines()) == len(text.splitlines())
    assert not new.endswith("\n")
    assert sum("malformed" in f for f in findings) == 4


def test_root_on_a_partition_the_disk_lacks_is_a_blocker():
    new, findings, blockers = rewrite_fstab(read("fstab", "root_partition_missing.input"), LAYOUT)
    assert new == read("fstab", "root_partition_missing.input")
    assert blockers and "/dev/sda7" in blockers[0]


@pytest.mark.parametrize("spec,expected", [
    ("/dev/sda2", ("sda", 2)), ("/dev/vdb", ("vdb", None)), ("/dev/xvda1", ("xvda", 1)),
    ("/dev/hdc3", ("hdc", 3)), ("/dev/nvme0n1p2", ("nvme0n1", 2)), ("/dev/nvme1n1", ("nvme1n1", None)),
    ("/dev/mapper/vg0-root", None), ("UUID=x", None), ("/dev/sda2x", None),
])
def test_device_names(spec, expected):
    assert device_disk(spec) == expected


def test_stable_root_specs_are_kept():
    for spec in ("/dev/root", "LABEL=root", "PARTUUID=aaaa-03", "/dev/disk/by-uuid/" + ROOT_UUID, "/dev/vg0/root",
                 "UUID=\"%s\"" % ROOT_UUID):
        text = "%s / ext4 defaults 0 1\n" % spec
        assert rewrite_fstab(text, LAYOUT) == (text, [], []), spec
