"""Real Debian guests, broken on purpose, checked and repaired on loop devices by the real agent.

For each guest of realguests.GUESTS (MBR ext4 initramfs-tools "vmware"; GPT/UEFI with /boot and an
ESP; LVM root with dracut; xfs root): check-disk finds the planted problems (exit 1);
repair-disk --items all repairs them (exit 0), which the guest's own tools confirm (lsinitramfs /
lsinitrd, the regenerated grub.cfg, fstab, dpkg); growpart and cloud-init come from the Debian
archive through a caching mirror on 127.0.0.1 (--mirror-url), assist and aegis from stand-in .deb
packages served on 127.0.0.1; a second run reports every item ok and changes no file.
Images are built once and cached (image_repair_lab.testimages); each test repairs a sparse copy.
"""
import pytest

from image_repair_lab.testimages import broken_image, copy_image, open_image
from image_repair_lab.testimages.breakages import expected_at_risk
from image_repair_lab.testimages.fingerprint import image_digest, tree_digest
from image_repair_lab.testimages.packages import build_standin_deb, caching_mirror, serve_directory

from .realguests import (GOOD, GUESTS, agent, assert_fstab, assert_grub_cfg, assert_initramfs_has_drivers,
                         assert_network, assert_packages, statuses)

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def package_sources(tmp_path_factory):
    """--mirror-url and the assist/aegis package URLs, all on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("packages")
    assist = build_standin_deb("aliyun-assist", folder)
    aegis = build_standin_deb("aliyun-aegis", folder)
    with serve_directory(folder) as url, caching_mirror() as mirror:
        yield ["--mirror-url", mirror, "--assist-package-url", "%s/%s" % (url, assist.name),
               "--aegis-package-url", "%s/%s" % (url, aegis.name)]


def broken_copy(name, tmp_path):
    recipe, breakages = GUESTS[name]
    image = broken_image(recipe, breakages)
    return image, copy_image(image.path, tmp_path / "disk.img")


def failures(report):
    return {item["name"]: item.get("error") or item["findings"] for item in report["items"]
            if item["status"] not in GOOD} or report.get("error")


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_real_guest_is_repaired_and_stays_repaired(name, tmp_path, package_sources):
    image, disk = broken_copy(name, tmp_path)
    recipe, breakages = GUESTS[name]

    status, report = agent(tmp_path / "check.json", "check-disk", disk, "--items", "all", "--quiet")
    assert status == 1, report
    at_risk = {item for item, state in statuses(report).items() if state == "skipped"}
    assert expected_at_risk(breakages) <= at_risk, (expected_at_risk(breakages) - at_risk, report["items"])
    assert statuses(report)["selinux"] == "not_applicable"
    with open_image(disk, read_only=True) as root:
        sources_before = (root / "etc/apt/sources.list").read_text()

    status, report = agent(tmp_path / "repair.json", "repair-disk", disk, "--items", "all", *package_sources)
    assert status == 0, failures(report)
    repaired = {item for item, state in statuses(report).items() if state == "repaired"}
    assert expected_at_risk(breakages) <= repaired, statuses(report)
    # The guest's own grub-mkconfig regenerated grub.cfg: no fallback to editing the old one
    # (the disk layer mounts loop-backed filesystems through a node that 10_linux accepts).
    grub = next(item for item in report["items"] if item["name"] == "grub")
    assert not any("edited instead" in finding for finding in grub["findings"]), grub

    with open_image(disk, read_only=True, chroot=True) as root:
        assert_initramfs_has_drivers(root, recipe.initramfs, image.manifest["kernels"])
        assert_grub_cfg(root, image.manifest)
        assert_fstab(root, image.manifest)
        assert_network(root)
        assert_packages(root, sources_before)
        files_after_repair = tree_digest(root)

    status, report = agent(tmp_path / "again.json", "repair-disk", disk, "--items", "all", *package_sources)
    assert status == 0, failures(report)
    assert set(statuses(report).values()) <= {"ok", "not_applicable"}, statuses(report)
    for item in report["items"]:
        assert not item["changes"]["files"] and not item["changes"]["commands"], item
    with open_image(disk, read_only=True) as root:
        assert tree_digest(root) == files_after_repair


def test_dry_run_writes_nothing(tmp_path, package_sources):
    image, disk = broken_copy("mbr-ext4-initramfs-tools", tmp_path)
    before = image_digest(disk)
    status, report = agent(tmp_path / "dry.json", "repair-disk", disk, "--items", "all", "--dry-run",
                           *package_sources)
    assert status == 0, failures(report)
    by_name = {item["name"]: item for item in report["items"]}
    assert by_name["virtio"]["status"] == "skipped"
    assert any("update-initramfs" in " ".join(command if isinstance(command, list) else [command])
               for command in by_name["virtio"]["changes"]["commands"]), by_name["virtio"]
    assert image_digest(disk) == before
