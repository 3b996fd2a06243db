"""cloudinit repaired on fixture guests: installed with the guest's manager, units enabled, the datasource list.

The pure cases are in tests/unit/test_cloudinit.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest import packages
from image_repair.agent.items import cloudinit
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_grub import install_mkconfig
from tests.fixtures.stubs_initramfs import calls_of, make_guest
from tests.fixtures.stubs_packages import install_package_stubs

pytestmark = pytest.mark.needs_root


UNITS = ["cloud-init-local.service", "cloud-init.service", "cloud-config.service", "cloud-final.service",
         "cloud-init.target"]


def broken_debian(tmp_path, systemctl=True):
    tree = build_guest(tmp_path, "debian12", kernel_args="quiet cloud-init=disabled")
    install_package_stubs(tree, "apt", **({} if systemctl else {"systemctl": "echo 'System has not been booted with systemd' >&2; exit 1\n"}))
    install_mkconfig(tree, "grub-mkconfig", "/usr/sbin")
    (tree / "etc/cloud").mkdir(parents=True)
    (tree / "etc/cloud/cloud-init.disabled").write_text("")
    return tree


def test_debian_guest_gets_cloud_init_enabled(tmp_path):
    tree = broken_debian(tmp_path)
    guest = make_guest(tree, "debian12")
    detection = cloudinit.ITEM.detect(guest)
    assert detection.findings == ["cloud-init is not installed", "/etc/cloud/cloud-init.disabled exists (cloud-init disabled)",
                                  "kernel argument cloud-init=disabled"]
    [result] = engine.repair(guest, ["cloudinit"])
    assert result.status == "repaired", result.to_dict()
    assert calls_of(tree, "apt-get", "systemctl") == [
        ["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *packages.APT_KEEP_CONFIG, "cloud-init"],
        ["systemctl", "enable"] + UNITS]
    assert (tree / "etc/cloud/cloud.cfg.d/90_image_repair_aliyun.cfg").read_text() == cloudinit.ALIYUN_CFG_TEXT
    assert not os.path.lexists(str(tree / "etc/cloud/cloud-init.disabled"))
    assert "cloud-init=disabled" not in (tree / "etc/default/grub").read_text()
    assert os.readlink(str(tree / "etc/systemd/system/multi-user.target.wants/cloud-init.target")) == \
        "/lib/systemd/system/cloud-init.target"
    assert os.path.lexists(str(tree / "etc/systemd/system/cloud-init.target.wants/cloud-final.service"))

    [again] = engine.repair(make_guest(tree, "debian12"), ["cloudinit"])
    assert again.status == "ok", again.to_dict()
    assert len(calls_of(tree, "apt-get", "systemctl")) == 3


def test_units_linked_directly_when_systemctl_fails(tmp_path):
    tree = broken_debian(tmp_path, systemctl=False)
    [result] = engine.repair(make_guest(tree, "debian12"), ["cloudinit"])
    assert result.status == "repaired", result.to_dict()
    target = os.readlink(str(tree / "etc/systemd/system/cloud-init.target.wants/cloud-init-local.service"))
    assert target in ("/lib/systemd/system/cloud-init-local.service", "/usr/lib/systemd/system/cloud-init-local.service")
    assert "/etc/systemd/system/cloud-init.target.wants/cloud-init-local.service" in result.changes.files


def test_a_later_datasource_list_without_aliyun_fails_clearly(tmp_path):
    tree = broken_debian(tmp_path)
    (tree / "etc/cloud/cloud.cfg.d").mkdir(parents=True)
    (tree / "etc/cloud/cloud.cfg.d/99_local.cfg").write_text("datasource_list: [ NoCloud ]\n")
    [result] = engine.repair(make_guest(tree, "debian12"), ["cloudinit"])
    assert result.status == "failed"
    assert "99_local.cfg sets datasource_list to [NoCloud], without AliYun" in result.error


def test_dry_run_on_an_installed_guest_shows_the_unit_enabling(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    install_package_stubs(tree, "dnf")
    engine.repair(make_guest(tree, "rocky9"), ["cloudinit"])
    os.unlink(str(tree / "etc/systemd/system/cloud-init.target.wants/cloud-final.service"))
    [result] = engine.repair(make_guest(tree, "rocky9", dry_run=True), ["cloudinit"])
    assert result.status == "skipped"
    assert result.findings == ["systemd unit cloud-final.service is not enabled", "dry run: not repaired"]
    assert result.changes.commands == ["systemctl enable cloud-final.service"]
    assert not os.path.lexists(str(tree / "etc/systemd/system/cloud-init.target.wants/cloud-final.service"))
