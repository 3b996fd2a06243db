"""nvme: drivers in every initramfs (one rebuild shared with virtio) and the timeouts on the command line."""
import os
import shutil

import pytest

from image_repair.agent import engine
from image_repair.agent.errors import AgentError
from image_repair.agent.guest import cpio
from image_repair.agent.guest.facts import Kernel
from image_repair.agent.items import nvme, virtio
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_grub import install_mkconfig, read_grub_calls
from tests.fixtures.stubs_initramfs import calls_of, install_initramfs_stubs, make_guest

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="fixture guests run their stubs in a chroot")


def test_timeout_value_follows_the_oldest_kernel():
    assert nvme.timeout_value([Kernel("5.14.0-362.el9.x86_64", None, None)]) == "4294967295"
    assert nvme.timeout_value([Kernel("4.15.0-20-generic", None, None)]) == "4294967295"
    assert nvme.timeout_value([Kernel("4.14.1", None, None), Kernel("5.10.0", None, None)]) == "255"
    assert nvme.timeout_value([Kernel("3.10.0-1160.el7.x86_64", None, None)]) == "255"
    assert nvme.timeout_value([Kernel("weird", None, None)]) == "255"
    assert nvme.kernel_release("4.18.0-348.el8.x86_64") == (4, 18)


@root_only
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


@root_only
def test_wrong_timeout_is_replaced(tmp_path):
    tree = build_guest(tmp_path, "rocky9", kernel_args="rhgb quiet nvme_core.io_timeout=30",
                       initramfs_modules=("nvme", "nvme_core"))
    guest = make_guest(tree, "rocky9")
    detection = nvme.ITEM.detect(guest)
    assert detection.at_risk
    assert any("nvme_core.io_timeout=4294967295" in f for f in detection.findings)
    assert any("nvme, nvme_core in the initramfs" in f for f in detection.findings)


def test_no_kernel_and_no_bootloader_are_risks_with_clear_failures(tmp_path):
    tree = build_guest(tmp_path, "rocky9", initramfs_modules=("nvme", "nvme_core"))
    guest = make_guest(tree, "rocky9")
    for path in ("boot/loader", "boot/grub2", "etc/default/grub", "etc/kernel/cmdline"):
        target = tree / path
        if target.is_dir():
            shutil.rmtree(str(target))
        elif target.exists():
            target.unlink()
    detection = nvme.ITEM.detect(guest)
    assert detection.at_risk and detection.findings[-1].startswith("no bootloader configuration found")
    guest.facts.kernels = []
    assert nvme.ITEM.detect(guest).findings[0] == "no installed kernel found in /boot"
    with pytest.raises(AgentError, match="no installed kernel found in /boot: no initramfs to add the NVMe"):
        nvme.ITEM.fix(guest, nvme.ITEM.detect(guest))
