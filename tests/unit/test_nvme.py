"""nvme: drivers in every initramfs (one rebuild shared with virtio) and the timeouts on the command line."""
import shutil

import pytest

from image_repair.agent.errors import AgentError
from image_repair.agent.guest.model import Kernel
from image_repair.agent.items import nvme
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_initramfs import make_guest


def test_timeout_value_follows_the_oldest_kernel():
    assert nvme.timeout_value([Kernel("5.14.0-362.el9.x86_64", None, None)]) == "4294967295"
    assert nvme.timeout_value([Kernel("4.15.0-20-generic", None, None)]) == "4294967295"
    assert nvme.timeout_value([Kernel("4.14.1", None, None), Kernel("5.10.0", None, None)]) == "255"
    assert nvme.timeout_value([Kernel("3.10.0-1160.el7.x86_64", None, None)]) == "255"
    assert nvme.timeout_value([Kernel("weird", None, None)]) == "255"
    assert nvme.kernel_release("4.18.0-348.el8.x86_64") == (4, 18)


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
