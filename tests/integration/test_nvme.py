"""nvme and virtio sharing one initramfs rebuild per kernel on a fixture guest.

The pure cases are in tests/unit/test_nvme.py. These run the guest's own (stub)
tools in a chroot, so they need root."""

import pytest

from image_repair.agent import engine
from image_repair.agent.guest import cpio
from image_repair.agent.items import nvme, virtio
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_grub import install_mkconfig, read_grub_calls
from tests.fixtures.stubs_initramfs import calls_of, install_initramfs_stubs, make_guest

pytestmark = pytest.mark.needs_root


def test_virtio_and_nvme_share_one_rebuild_per_kernel(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    install_initramfs_stubs(tree, "centos7")
    install_mkconfig(tree, "grub2-mkconfig", "/usr/sbin")
    guest = make_guest(tree, "centos7")
    assert nvme.ITEM.detect(guest).at_risk

    results = engine.repair(guest, ["virtio", "nvme"])
    assert [r.status for r in results] == ["repaired", "repaired"], [r.to_dict() for r in results]
    drivers = " ".join(virtio.REQUIRED + virtio.OPTIONAL + nvme.REQUIRED + nvme.OPTIONAL)
    kernels = ("3.10.0-1160.el7.x86_64", "3.10.0-1160.105.1.el7.x86_64")
    # Once per kernel (the rescue kernel has no modules of its own: skipped), both items' drivers.
    assert calls_of(tree, "dracut") == [
        ["dracut", "-f", "--no-hostonly", "--add-drivers", drivers, "/boot/initramfs-%s.img" % k, k] for k in kernels]
    for kver in kernels:
        names = cpio.module_names(cpio.list_file(str(tree) + "/boot/initramfs-%s.img" % kver))
        assert {"nvme", "nvme_core", "virtio_blk"} <= names
    # 3.10 kernels: the 8-bit maximum.
    grub_default = (tree / "etc/default/grub").read_text()
    assert "nvme_core.io_timeout=255 nvme_core.admin_timeout=255" in grub_default
    assert any("grub2-mkconfig" in c for c in read_grub_calls(tree))
    assert "nvme_core.io_timeout=255" in (tree / "boot/grub2/grub.cfg").read_text()
    # Both items list the shared rebuild.
    assert results[1].changes.commands[:2] == results[0].changes.commands == [" ".join(c) for c in calls_of(tree, "dracut")]

    again = engine.repair(make_guest(tree, "centos7"), ["virtio", "nvme"])
    assert [r.status for r in again] == ["ok", "ok"], [r.to_dict() for r in again]
    assert len(calls_of(tree, "dracut")) == 2
