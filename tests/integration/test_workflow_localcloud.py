"""The acceptance path: `image-repair repair --image-file` on the in-process local cloud turns a
broken Debian image (VMware-style import) into a new image whose own check (the agent's
check-disk on the new snapshot) finds the repaired items fine. The real agent runs on a loop
device, delivered by SendFile and started by RunCommand. Needs root."""
import json
import os

import pytest

from image_repair.cli import main

ITEMS = ["fstab", "grub", "virtio", "dhcp"]     # no package installs: no network needed

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def broken_debian():
    from image_repair_lab.testimages import Recipe, broken_image
    return str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)


def test_repair_command_on_the_local_cloud(broken_debian, tmp_path, monkeypatch, capsys):
    from image_repair.cli.local_session import LocalSession
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    calls = []          # the local cloud's call log, kept as the session ends
    close = LocalSession.__exit__

    def keep_calls(session, *args):
        calls.extend(session.backend.calls if session.backend is not None else [])
        return close(session, *args)
    monkeypatch.setattr(LocalSession, "__exit__", keep_calls)
    before = os.stat(broken_debian)
    code = main(["repair", "--image-file", broken_debian, "--cloud-dir", str(tmp_path / "cloud"),
                 "--items", ",".join(ITEMS), "--time-scale", "0.01", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    result = json.loads(out.out)
    assert result["status"] == "SUCCEEDED"
    report = result["report"]
    assert [r["name"] for r in report["repair"]["results"]] == ITEMS
    assert {r["status"] for r in report["repair"]["results"]} <= {"repaired", "ok"}
    before_risks = {i["name"] for i in report["itemsBefore"] if i.get("riskLevel")}
    after_risks = {i["name"] for i in report["itemsAfter"] if i.get("riskLevel")}
    assert {"GUESTOS.Fstab", "GUESTOS.Virtio", "GUESTOS.Dhcp"} <= before_risks
    assert not after_risks & {"GUESTOS.Fstab", "GUESTOS.Grub", "GUESTOS.Virtio", "GUESTOS.Dhcp"}
    assert "system disk file" in out.err and report["newImageId"] in out.err
    # The host is released as soon as the agent is done (issue 12): deleted before its repaired
    # disk's snapshot is even asked for, and the disk deleted once the snapshot is accomplished.
    done = [c.action for c in calls if not c.error_code]
    assert done.index("DeleteInstance") < done.index("CreateSnapshot") < done.index("CreateImage")
    assert done.index("CreateSnapshot") < done.index("DeleteDisk") and done.count("DeleteInstance") == 1
    after = os.stat(broken_debian)
    assert (after.st_size, after.st_mtime) == (before.st_size, before.st_mtime)   # the source was only read
    # status and list read the same store
    assert main(["status", result["executionId"]]) == 0
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "SUCCEEDED" in listed and result["executionId"] in listed
