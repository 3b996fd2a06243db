"""Issue 13's proof that the pool's repairs boot: the three guests repaired at once on one pool host
of the local cloud (tests/integration/pool_localcloud.py), and the new image of the most broken
one (a VMware import: no virtio in the initramfs, /dev/sda names, a static address on ens33, no
serial console) booted in qemu by the boot proof's harness on virtio, judged as the matrix judges
(marker, root by UUID, kernel console on ttyS0, eth0 by DHCP)."""
import shutil
from pathlib import Path

import pytest

from image_repair_lab.bootproof.qemu import BootSpec, boot, dhcp_address
from image_repair_lab.bootproof.runcell import order_getty_after_marker
from image_repair_lab.testimages import Recipe, broken_image

from tests.integration.pool_localcloud import new_image_file, repaired_on_one_host, three_broken_guests

pytestmark = [pytest.mark.boot, pytest.mark.needs_root]


def test_a_pool_repaired_image_boots(boot_work):
    workdir = Path(boot_work) / "pool"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    disk = workdir / "vmware-repaired.img"

    def keep_the_first(backend, executions):
        shutil.copyfile(new_image_file(backend, executions[0].report["newImageId"]), disk)
    results, executions, _, _, _ = repaired_on_one_host(str(workdir), three_broken_guests(), keep_the_first)
    assert [r.status for r in results] == ["Succeeded"] * 3, [e.error for e in executions]
    source = broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"])
    manifest = source.manifest
    # the harness opens a guest disk by its manifest (partitions, filesystems): the source's, beside the copy
    shutil.copyfile(str(source.path) + ".json", str(disk) + ".json")
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    order_getty_after_marker(disk)
    spec = BootSpec(disk, bus="virtio", firmware="bios", timeout=480.0)
    result = boot(spec, workdir, "pool-after")
    problems = result.report.problems(root["uuid"], address=dhcp_address(spec))
    assert problems == [], "%s; serial log %s" % ("; ".join(problems), result.serial_log)
    disk.unlink()
