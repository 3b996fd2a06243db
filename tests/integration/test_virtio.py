"""virtio on fixture guests: the guest's own (stub) tool in a chroot, real images verified by listing.

The pure cases are in tests/unit/test_virtio.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os
import subprocess

import pytest

from image_repair.agent import engine
from image_repair.agent.guest import cpio
from image_repair.agent.items import virtio
from tests.fixtures.guests import GUESTS, build_guest, install_stub
from tests.fixtures.guest_files import VIRTIO_MODULES
from tests.fixtures.stubs_initramfs import LSINITRD_LZO, calls_of, BROKEN_REBUILD, install_initramfs_stubs, make_guest
from tests.unit.test_virtio import WANTED, tree_digest

pytestmark = pytest.mark.needs_root


def image_modules(tree, path):
    return cpio.list_modules(str(tree) + path)


def test_dracut_guest_repaired_once_per_kernel_then_ok(tmp_path):
    tree = build_guest(tmp_path, "centos-stream9")
    install_initramfs_stubs(tree, "centos-stream9")
    guest = make_guest(tree, "centos-stream9")
    detection = virtio.ITEM.detect(guest)
    assert detection.at_risk and "virtio_blk" in detection.findings[0]

    [result] = engine.repair(guest, ["virtio"])
    assert result.status == "repaired", result.to_dict()
    assert calls_of(tree, "dracut", "update-initramfs", "mkinitrd") == [
        ["dracut", "-f", "--no-hostonly", "--add-drivers", WANTED, "/boot/initramfs-%s.img" % k, k]
        for k in ("5.14.0-362.el9.x86_64", "5.14.0-391.el9.x86_64")]
    for kver in ("5.14.0-362.el9.x86_64", "5.14.0-391.el9.x86_64"):
        assert set(VIRTIO_MODULES) <= image_modules(tree, "/boot/initramfs-%s.img" % kver)
        assert not os.path.exists(str(tree) + "/boot/initramfs-%s.img.image-repair-old" % kver)
    conf = (tree / "etc/dracut.conf.d/image-repair.conf").read_text()
    assert 'add_drivers+=" %s "' % WANTED in conf and 'hostonly="no"' in conf
    assert "/etc/dracut.conf.d/image-repair.conf" in result.changes.files

    # Second run: nothing to do, nothing run, nothing changed.
    before = tree_digest(tree)
    [again] = engine.repair(make_guest(tree, "centos-stream9"), ["virtio"])
    assert again.status == "ok" and again.changes.is_empty()
    assert len(calls_of(tree, "dracut", "update-initramfs", "mkinitrd")) == 2
    assert tree_digest(tree) == before


def test_failed_rebuild_puts_the_old_image_back(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    install_stub(tree, "/usr/bin/dracut", BROKEN_REBUILD)
    image = tree / "boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img"
    original = image.read_bytes()
    [result] = engine.repair(make_guest(tree, "rocky9"), ["virtio"])
    assert result.status == "failed"
    assert "no space left on device" in result.error
    assert image.read_bytes() == original
    assert not os.path.exists(str(image) + ".image-repair-old")


def test_rebuild_without_the_modules_is_refused_and_rolled_back(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    # A tool that "succeeds" but packs nothing useful: verification must catch it.
    install_stub(tree, "/usr/bin/dracut",
                 "for a; do case $a in /boot/*) cd / && echo etc/hostname | cpio -o -H newc 2>/dev/null | gzip > $a ;; esac; done\n")
    image = tree / "boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img"
    original = image.read_bytes()
    [result] = engine.repair(make_guest(tree, "rocky9"), ["virtio"])
    assert result.status == "failed"
    assert "still lacks virtio_blk" in result.error
    assert image.read_bytes() == original


def test_initramfs_tools_guest(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    install_initramfs_stubs(tree, "debian12")
    [result] = engine.repair(make_guest(tree, "debian12"), ["virtio"])
    assert result.status == "repaired", result.to_dict()
    assert calls_of(tree, "dracut", "update-initramfs", "mkinitrd") == [["update-initramfs", "-u", "-k", "6.1.0-13-amd64"],
                                     ["update-initramfs", "-u", "-k", "6.1.0-17-amd64"]]
    modules = (tree / "etc/initramfs-tools/modules").read_text()
    assert all(modules.count("\n%s\n" % m) == 1 for m in virtio.REQUIRED)
    assert (tree / "etc/initramfs-tools/initramfs.conf").read_text().startswith("MODULES=most\n")
    backup = tree / "var/lib/image-repair/backup/etc/initramfs-tools/initramfs.conf"
    assert backup.read_text().startswith("MODULES=dep\n")
    [again] = engine.repair(make_guest(tree, "debian12"), ["virtio"])
    assert again.status == "ok" and len(calls_of(tree, "dracut", "update-initramfs", "mkinitrd")) == 2


def test_suse_mkinitrd_guest(tmp_path):
    tree = build_guest(tmp_path, "sles11")
    install_initramfs_stubs(tree, "sles11")
    [result] = engine.repair(make_guest(tree, "sles11"), ["virtio"])
    assert result.status == "repaired", result.to_dict()
    assert calls_of(tree, "dracut", "update-initramfs", "mkinitrd") == [["mkinitrd", "-m", WANTED, "-b", "/boot", "-k", "vmlinuz-3.0.101-108.13-default",
                                      "-i", "initrd-3.0.101-108.13-default"]]
    assert (tree / "etc/sysconfig/kernel").read_text() == 'INITRD_MODULES="ata_piix mptspi %s"\n' % WANTED


def test_lzo_image_is_listed_by_the_guests_own_lsinitrd(tmp_path):
    tree = build_guest(tmp_path, "centos7", initramfs_modules=VIRTIO_MODULES)
    kver = "3.10.0-1160.el7.x86_64"
    image = tree / ("boot/initramfs-%s.img" % kver)
    plain = subprocess.run(["gzip", "-dc", str(image)], stdout=subprocess.PIPE, check=True).stdout
    image.write_bytes(subprocess.run(["busybox", "lzop", "-c"], input=plain, stdout=subprocess.PIPE, check=True).stdout)
    guest = make_guest(tree, "centos7")
    with pytest.raises(cpio.CpioError, match="lzo"):
        cpio.list_file(str(image))
    install_stub(tree, "/usr/bin/lsinitrd", LSINITRD_LZO)
    assert virtio.ITEM.detect(guest).findings[0] == \
        "kernel %s: %s in the initramfs" % (kver, ", ".join(virtio.REQUIRED + virtio.OPTIONAL))


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_every_fixture_family_once_per_kernel(tmp_path, name):
    tree = build_guest(tmp_path, name)
    install_initramfs_stubs(tree, name)
    guest = make_guest(tree, name)
    tools = ("dracut", "update-initramfs", "mkinitrd")
    before = virtio.ITEM.detect(guest)
    [result] = engine.repair(guest, ["virtio"])
    calls = calls_of(tree, *tools)
    if not before.at_risk:   # Ubuntu: virtio built into the kernel
        assert result.status == "ok" and calls == []
        return
    assert result.status == "repaired", result.to_dict()
    kernels = [k.version for k in guest.facts.kernels if os.path.isdir(str(tree) + "/lib/modules/" + k.version)]
    assert len(calls) == len(kernels) == len(set(map(tuple, calls)))
    for kver, call in zip(kernels, calls):
        assert any(kver in word for word in call), call
        assert "--hostonly" not in call and "-H" not in call
    [again] = engine.repair(make_guest(tree, name), ["virtio"])
    assert again.status == "ok" and calls_of(tree, *tools) == calls
