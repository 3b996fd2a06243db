"""The test-image builder itself on a real cached image: a breakage that fails half-way leaves no
loop device, mount or device alias behind, and applying breakages to a copy never touches the
cached original."""
import subprocess

import pytest

from image_repair_lab.testimages import Recipe, build_image, copy_image, open_image
from image_repair_lab.testimages import breakages as breakage_functions
from image_repair_lab.testimages.fingerprint import image_digest

pytestmark = pytest.mark.needs_root


def loops_of(path) -> str:
    return subprocess.run(["losetup", "-j", str(path)], stdout=subprocess.PIPE, universal_newlines=True).stdout


def mounts_text() -> str:
    return subprocess.run(["findmnt", "-rn", "-o", "SOURCE,TARGET"], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


@pytest.fixture
def cloud_image_copy(tmp_path):
    image = build_image(Recipe())
    return image, copy_image(image.path, tmp_path / "disk.img")


def test_a_failing_breakage_releases_every_loop_device_and_mount(cloud_image_copy):
    image, disk = cloud_image_copy
    before = image_digest(image.path)
    # The cloud kernel has NVMe built in: this breakage refuses it after mounting the guest.
    with pytest.raises(ValueError, match="nvme is built into kernel"):
        breakage_functions.apply(disk, dict(image.manifest), ["device_names", "no_nvme_initramfs"])
    # A loop device still mounted would stay listed (detach only sets autoclear): none left
    # means every mount of the copy is gone too (other sessions' mounts are not looked at).
    assert loops_of(disk) == ""
    assert image_digest(image.path) == before


def test_open_image_shows_the_guest_and_cleans_up(cloud_image_copy):
    image, disk = cloud_image_copy
    with open_image(disk, read_only=True, chroot=True) as root:
        assert "UUID=%s / ext4" % image.filesystem("/")["uuid"] in (root / "etc/fstab").read_text()
        assert (root / "etc/systemd/system/multi-user.target.wants/image-repair-boot-marker.service").is_symlink()
        assert loops_of(disk) != ""
    assert loops_of(disk) == ""
    assert str(root) not in mounts_text()
    assert not root.exists()
