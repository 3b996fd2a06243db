"""growpart repaired on fixture guests: the per-family package installed, cloud-init's modules switched on.

The pure cases are in tests/unit/test_growpart.py. These run the guest's own (stub)
tools in a chroot, so they need root."""

import pytest

from image_repair.agent import engine
from image_repair.agent.items import growpart
from tests.fixtures.guests import build_guest, read_stub_calls
from tests.fixtures.stubs_initramfs import make_guest
from tests.fixtures.stubs_packages import install_package_stubs

pytestmark = pytest.mark.needs_root


@pytest.mark.parametrize("name,manager,package", [("rocky9", "dnf", "cloud-utils-growpart"),
                                                  ("debian12", "apt", "cloud-guest-utils"),
                                                  ("sles15", "zypper", "growpart")])
def test_installs_the_family_package_with_cloud_init(tmp_path, name, manager, package):
    tree = build_guest(tmp_path, name)
    install_package_stubs(tree, manager)
    guest = make_guest(tree, name)
    detection = growpart.ITEM.detect(guest)
    assert detection.at_risk and "package %s" % package in detection.findings[0]
    [result] = engine.repair(guest, ["growpart"])
    assert result.status == "repaired", result.to_dict()
    installs = [c for c in read_stub_calls(tree) if "install" in c]
    assert installs[-1][-2:] == [package, "cloud-init"]
    [again] = engine.repair(make_guest(tree, name), ["growpart"])
    assert again.status == "ok" and again.changes.is_empty()


def test_switched_off_growpart_is_switched_back_on(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    install_package_stubs(tree, "dnf")
    guest = make_guest(tree, "rocky9")
    engine.repair(guest, ["growpart"])
    cfg = tree / "etc/cloud/cloud.cfg"
    cfg.write_text(cfg.read_text().replace(" - growpart\n", "").replace(" - resizefs\n", "")
                   + "growpart:\n  mode: off\nresize_rootfs: false\n")
    (tree / "etc/growroot-disabled").write_text("")
    detection = growpart.ITEM.detect(make_guest(tree, "rocky9"))
    assert detection.findings == [
        "cloud-init module growpart is not in cloud_init_modules",
        "cloud-init module resizefs is not in cloud_init_modules",
        "/etc/cloud/cloud.cfg switches growpart off (mode: off)",
        "/etc/cloud/cloud.cfg sets resize_rootfs: false", "/etc/growroot-disabled exists"]
    calls = len(read_stub_calls(tree))
    [result] = engine.repair(make_guest(tree, "rocky9"), ["growpart"])
    assert result.status == "repaired", result.to_dict()
    assert len(read_stub_calls(tree)) == calls  # nothing to install this time
    assert " - growpart\n - resizefs\n - migrator\n" in cfg.read_text()
    assert (tree / "etc/cloud/cloud.cfg.d/91_image_repair_growpart.cfg").read_text() == growpart.ENABLE_CFG_TEXT
    assert not (tree / "etc/growroot-disabled").exists()
    assert "/var/lib/image-repair/backup/etc/cloud/cloud.cfg" in result.changes.backups
