"""Pure parts of image_repair_lab.testimages: recipes and cache keys, partition plans, fstab, kernel
argument edits of breakages, fingerprints, stand-in packages. The builds themselves are exercised
by tests/integration/test_real_guests.py."""
import subprocess
import urllib.request

import pytest

from image_repair_lab.testimages import Recipe
from image_repair_lab.testimages.breakages import BREAKAGES, Guest, edit_kernel_args, expected_at_risk, get
from image_repair_lab.testimages.diskbuild import partition_plan
from image_repair_lab.testimages.fingerprint import image_digest
from image_repair_lab.testimages.guestconfig import DEFAULT_GRUB, fstab_text
from image_repair_lab.testimages.packages import build_standin_deb, serve_directory
from image_repair_lab.testimages.recipe import root_packages


def test_recipe_rejects_unknown_values_with_the_allowed_ones():
    with pytest.raises(ValueError, match="firmware='arm'.*bios, uefi"):
        Recipe(firmware="arm")
    with pytest.raises(ValueError, match="size_gib"):
        Recipe(size_gib=1)


def test_cache_keys_follow_the_recipe_and_roots_are_shared_between_layouts():
    base = Recipe()
    assert base.key() == Recipe().key()
    assert Recipe(layout="lvm").key() != base.key()
    assert Recipe(extra_packages=("b", "a")) == Recipe(extra_packages=("a", "b"))
    # ext4/xfs and plain/LVM variants share one debootstrap root; firmware and dracut do not.
    assert Recipe(layout="lvm", rootfs="xfs").root_key() == base.root_key()
    assert Recipe(firmware="uefi").root_key() != base.root_key()
    assert Recipe(initramfs="dracut").root_key() != base.root_key()
    assert base.name == "debian12-bios-initramfs-tools-ext4-plain"


def test_root_packages_pick_the_bootloader_and_dhcp_client():
    assert "grub-pc" in root_packages(Recipe())
    assert "grub-efi-amd64" in root_packages(Recipe(firmware="uefi"))
    assert "dhcpcd-base" in root_packages(Recipe(suite="trixie"))
    assert "isc-dhcp-client" in root_packages(Recipe(suite="bullseye"))


def test_partition_plans():
    assert [r for r, _, _ in partition_plan(Recipe())] == ["root"]
    assert [r for r, _, _ in partition_plan(Recipe(firmware="uefi", layout="separate_boot"))] == ["esp", "boot", "root"]
    assert [r for r, _, _ in partition_plan(Recipe(layout="lvm"))] == ["boot", "pv"]


MANIFEST = {"recipe": Recipe(layout="lvm").to_dict(), "filesystems": [
    {"mountpoint": "/", "fstype": "xfs", "uuid": "r-uuid", "partition": 2, "lvm": "vg0/root"},
    {"mountpoint": "/boot", "fstype": "ext4", "uuid": "b-uuid", "partition": 1, "lvm": None}]}


def test_fstab_names_filesystems_by_uuid_and_the_lvm_root_by_mapper_path():
    lines = fstab_text(MANIFEST).splitlines()
    assert "/dev/mapper/vg0-root / xfs defaults 0 0" in lines
    assert "UUID=b-uuid /boot ext4 defaults 0 2" in lines


@pytest.fixture
def guest_tree(tmp_path):
    (tmp_path / "etc/default").mkdir(parents=True)
    (tmp_path / "etc/default/grub").write_text(DEFAULT_GRUB)
    (tmp_path / "boot/grub").mkdir(parents=True)
    (tmp_path / "boot/grub/grub.cfg").write_text(
        "menuentry 'Debian' {\n\tlinux\t/vmlinuz-6.1 root=UUID=r-uuid ro console=tty0 console=ttyS0,115200n8 "
        "net.ifnames=0 biosdevname=0\n\tinitrd\t/initrd.img-6.1\n}\n")
    return Guest(tmp_path, MANIFEST)


def test_kernel_argument_edits_reach_default_grub_and_grub_cfg(guest_tree):
    edit_kernel_args(guest_tree, remove=("console=ttyS0,115200n8", "net.ifnames"), add=("cloud-init=disabled",),
                     replace={"root=UUID=r-uuid": "root=/dev/sda2"})
    default = (guest_tree.root / "etc/default/grub").read_text()
    cfg = (guest_tree.root / "boot/grub/grub.cfg").read_text()
    assert 'GRUB_CMDLINE_LINUX="console=tty0 biosdevname=0 nvme_core.io_timeout=4294967295 ' \
           'nvme_core.admin_timeout=4294967295 cloud-init=disabled"' in default
    assert "\tlinux\t/vmlinuz-6.1 root=/dev/sda2 ro console=tty0 biosdevname=0 cloud-init=disabled\n" in cfg
    assert "\tinitrd\t/initrd.img-6.1\n" in cfg


def test_breakages_are_named_and_mapped_to_the_items_they_put_at_risk():
    assert set(BREAKAGES) == {"no_virtio_initramfs", "no_nvme_initramfs", "device_names", "no_serial_console",
                              "static_eth0", "predictable_name_only", "cloud_init_disabled", "vmware"}
    assert expected_at_risk(["static_eth0"]) == {"dhcp", "cloudinit", "growpart", "assist", "aegis"}
    with pytest.raises(ValueError, match="unknown breakage 'nope'"):
        get("nope")


def test_image_digest_sees_every_written_byte_and_skips_holes(tmp_path):
    image = tmp_path / "disk.img"
    with open(image, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    empty = image_digest(image)
    with open(image, "r+b") as handle:
        handle.seek(40 * 1024 * 1024)
        handle.write(b"\0")  # a zero byte written into a hole allocates a block: a write
    assert image_digest(image) != empty
    assert image_digest(image) == image_digest(image)


def test_standin_packages_are_real_debs_served_on_loopback(tmp_path):
    deb = build_standin_deb("aliyun-assist", tmp_path)
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
    assert "./usr/sbin/aliyun-service" in listing
    assert "root/root" in listing
    with serve_directory(tmp_path) as url:
        assert url.startswith("http://127.0.0.1:")
        assert urllib.request.urlopen("%s/%s" % (url, deb.name)).read() == deb.read_bytes()


SERIAL_LOG = """[   13.003102] Run /init as init process
IMAGE-REPAIR-BOOT marker kernel=6.1.0-50-cloud-amd64
IMAGE-REPAIR-BOOT findmnt: TARGET SOURCE    FSTYPE UUID                                 OPTIONS
IMAGE-REPAIR-BOOT findmnt: /      /dev/vda1 ext4   212cd2e7-f837-473e-aff7-16818e9a93f3 rw,relatime,errors=remount-ro
IMAGE-REPAIR-BOOT ip: 2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
IMAGE-REPAIR-BOOT ip:     altname ens3
[   45.1] systemd[1]: noise in between\r
IMAGE-REPAIR-BOOT ip:     inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0
IMAGE-REPAIR-BOOT ip:        valid_lft 86397sec preferred_lft 86397sec
IMAGE-REPAIR-BOOT end
[   46.572349] systemd-shutdown[1]: Powering off.
"""


def test_boot_marker_is_parsed_from_a_noisy_serial_log():
    from image_repair_lab.testimages.marker import parse_boot_log
    result = parse_boot_log(SERIAL_LOG)
    assert result.reached and result.complete
    assert result.kernel == "6.1.0-50-cloud-amd64"
    assert (result.root_source, result.root_fstype) == ("/dev/vda1", "ext4")
    assert result.root_uuid == "212cd2e7-f837-473e-aff7-16818e9a93f3"
    assert result.eth0_ipv4 == ["10.0.2.15/24"]


def test_boot_marker_without_eth0_or_without_boot():
    from image_repair_lab.testimages.marker import parse_boot_log
    no_dhcp = parse_boot_log("IMAGE-REPAIR-BOOT marker kernel=6.1\n"
                             'IMAGE-REPAIR-BOOT ip: Device "eth0" does not exist.\nIMAGE-REPAIR-BOOT end\n')
    assert no_dhcp.reached and no_dhcp.eth0_ipv4 == []
    assert not parse_boot_log("[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n").reached


def test_no_serial_console_removes_the_serial_console_and_terminal(guest_tree):
    from image_repair_lab.testimages.breakages import no_serial_console
    cfg = guest_tree.root / "boot/grub/grub.cfg"
    cfg.write_text("serial --speed=115200 --unit=0\nterminal_input console serial\nterminal_output console serial\n"
                   + cfg.read_text())
    no_serial_console(guest_tree)
    text = cfg.read_text()
    assert "serial --speed" not in text and "ttyS0" not in text
    assert "terminal_input console\nterminal_output console\n" in text
    default = (guest_tree.root / "etc/default/grub").read_text()
    assert "GRUB_TERMINAL" not in default and "GRUB_SERIAL_COMMAND" not in default and "ttyS0" not in default
