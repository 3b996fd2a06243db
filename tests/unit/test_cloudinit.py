"""cloudinit: installed with the guest's manager, AliYun datasource, enabled (flag, kernel arg, units)."""
import os


from image_repair.agent import engine
from image_repair.agent.guest import cloudcfg, packages
from image_repair.agent.items import cloudinit
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_initramfs import calls_of, make_guest

KEEP = " ".join(packages.APT_KEEP_CONFIG)


def test_cloud_cfg_reading():
    text = ("# comment\ndatasource_list: [ NoCloud, 'AliYun', None ]  # why\n"
            "cloud_init_modules:\n - migrator\n - [ growpart, always ]\n - resizefs\n"
            "growpart:\n  mode: 'off'\n  devices: ['/']\nresize_rootfs: false\n")
    assert cloudcfg.parse_list(cloudcfg.top_level(text, "datasource_list")) == ["NoCloud", "AliYun", "None"]
    assert cloudcfg.parse_list(cloudcfg.top_level(text, "cloud_init_modules")) == ["migrator", "growpart", "resizefs"]
    assert cloudcfg.mapping_value(cloudcfg.top_level(text, "growpart"), "mode") == "off"
    assert cloudcfg.mapping_value("{mode: auto, devices: [/]}", "mode") == "auto"
    assert cloudcfg.is_false(cloudcfg.top_level(text, "resize_rootfs"))
    assert cloudcfg.top_level(text, "users") is None
    block = "datasource_list:\n  - Ec2\n  - None\nother: 1\n"
    assert cloudcfg.parse_list(cloudcfg.top_level(block, "datasource_list")) == ["Ec2", "None"]


def test_install_targets():
    unit = "[Unit]\nDescription=x\n[Install]\nWantedBy=multi-user.target cloud-init.target\nRequiredBy=a.target\n"
    assert cloudinit.install_targets(unit) == ["multi-user.target.wants", "cloud-init.target.wants",
                                               "a.target.requires"]
    assert cloudinit.install_targets("[Service]\nWantedBy=x\n") == []


def test_dry_run_changes_nothing(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    (tree / "etc/cloud").mkdir(parents=True)
    (tree / "etc/cloud/cloud-init.disabled").write_text("")
    [result] = engine.repair(make_guest(tree, "debian12", dry_run=True), ["cloudinit"])
    assert result.status == "skipped"
    assert result.changes.commands == ["apt-get update", "apt-get install -y --no-install-recommends " + KEEP + " cloud-init"]
    assert os.path.exists(str(tree / "etc/cloud/cloud-init.disabled"))
    assert not os.path.exists(str(tree / "etc/cloud/cloud.cfg.d"))
    assert calls_of(tree, "apt-get", "systemctl") == []
