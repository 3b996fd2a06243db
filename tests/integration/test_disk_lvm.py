"""LVM read from real PVs made by pvcreate/vgcreate/lvcreate (no activation: no device-mapper
here), and a host VG of the same name that must not matter."""
import os
import tempfile

import pytest

from image_repair.agent.disk import lvm, session
from image_repair.agent.errors import AgentError
from . import diskbuild

pytestmark = pytest.mark.needs_root


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    assert os.listdir(str(scratch)) == []
    assert diskbuild.loops_backed_by(str(tmp_path)) == []


def make_pv_file(tmp_path, name, size_mib=64):
    path = str(tmp_path / name)
    with open(path, "wb") as handle:
        handle.truncate(size_mib * diskbuild.MiB)
    return path


def test_metadata_read_from_a_real_pv_matches_lvm_reports(tmp_path):
    path = make_pv_file(tmp_path, "pv.img")
    with diskbuild.loop(path) as device:
        try:
            ranges = diskbuild.lvm_create(device, "metavg", [("root", "12M"), ("data", "8M")])
            pv_uuid = diskbuild.sh("pvs", "--config", "global/activation=0", "--noheadings", "-o", "pv_uuid",
                                   device, report=True).strip().replace("-", "")
            found = lvm.read_pv(device)
        finally:
            diskbuild.lvm_forget(device, "metavg")
    assert found is not None
    pv, groups = found
    assert pv.uuid == pv_uuid
    assert [vg.name for vg in groups] == ["metavg"]
    vg = groups[0]
    assert sorted(lv.name for lv in vg.lvs) == ["data", "root"]
    for name in ("root", "data"):
        _pv_name, offset, size = lvm.linear_range(vg.lv(name))
        assert (offset, size) == ranges[name]


def test_a_disk_that_is_no_pv_has_no_label(tmp_path):
    assert lvm.read_pv(make_pv_file(tmp_path, "empty.img", 4)) is None


def test_the_guest_vg_is_mapped_even_when_the_host_has_one_of_the_same_name(tmp_path):
    guest = diskbuild.build_lvm(str(tmp_path), vg="clashvg")
    host_pv = make_pv_file(tmp_path, "host-pv.img")
    with diskbuild.loop(host_pv) as device:
        try:
            ranges = diskbuild.lvm_create(device, "clashvg", [("root", "40M")])
            host_tree = diskbuild.guest_tree(diskbuild.tmp_tree(str(tmp_path), "host-root"), "",
                                             files={"etc/marker": "host\n"})
            with diskbuild.loop(host_pv, *ranges["root"]) as lv_device:
                diskbuild.make_fs(lv_device, "ext4", tree=host_tree)
            reported = diskbuild.sh("vgs", "--config", "global/activation=0", "--noheadings", "-o", "vg_name",
                                    report=True)
            assert "clashvg" in reported   # the host's LVM does know a VG of that name
            with session.open_guest(session.resolve_target(path=guest.path, read_only=True)) as mounted:
                assert open(os.path.join(mounted.root, "etc/marker")).read() == "guest\n"
                root = [f for f in mounted.layout["filesystems"] if f["mountpoint"] == "/"][0]
                assert (root["lvm"], root["uuid"]) == ("clashvg/root", guest.root_uuid)
        finally:
            diskbuild.lvm_forget(device, "clashvg")


def test_an_lv_that_needs_device_mapper_is_a_clear_error(tmp_path):
    path = str(tmp_path / "segments.img")
    parts = diskbuild.partition(path, 64, "label: dos\nstart=1MiB, type=8e\n")
    with diskbuild.loop(path, *parts[1]) as device:
        try:
            diskbuild.lvm_create(device, "segvg", [("root", "8M"), ("other", "8M")])
            diskbuild.sh("lvextend", "-q", "--config", "global/activation=0", "-L", "+8M", "segvg/root")
        finally:
            diskbuild.sh("vgchange", "--config", "global/activation=0", "-q", "--activate", "n", "segvg", check=False)
    try:
        with pytest.raises(AgentError, match="segvg/root: segvg/root needs device-mapper .*2 segments"):
            with session.open_guest(session.resolve_target(path=path, read_only=True)):
                pass
    finally:
        with diskbuild.loop(path, *parts[1]) as device:
            diskbuild.lvm_forget(device, "segvg")


def test_a_whole_disk_pv_without_a_partition_table(tmp_path):
    path = make_pv_file(tmp_path, "whole-pv.img")
    root_uuid = diskbuild.new_uuid()
    tree = diskbuild.guest_tree(diskbuild.tmp_tree(str(tmp_path), "tree"),
                                "UUID=%s / ext4 defaults 0 1\n" % root_uuid)
    with diskbuild.loop(path) as device:
        try:
            ranges = diskbuild.lvm_create(device, "wholevg", [("root", "40M")])
        finally:
            diskbuild.sh("vgchange", "--config", "global/activation=0", "-q", "--activate", "n", "wholevg",
                         check=False)
        with diskbuild.loop(path, *ranges["root"]) as lv_device:
            diskbuild.make_fs(lv_device, "ext4", fs_uuid=root_uuid, tree=tree)
    try:
        with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
            assert guest.layout["summary"] == "none; / ext4 on LV wholevg/root"
            assert guest.layout["filesystems"][0]["uuid"] == root_uuid
    finally:
        with diskbuild.loop(path) as device:
            diskbuild.lvm_forget(device, "wholevg")
