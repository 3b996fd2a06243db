"""The events acceptance on the disk-backed local cloud: `image-repair events deliver --image-file`
with an ActionTrail CreateImage event (delivered twice in one batch) for a real broken Debian
image: one watched execution, which waits for the image's check (the agent's check-disk finds
virtio missing), repairs it, and ends in a new image whose own check finds the items fine. Needs root."""
import json
from pathlib import Path

import pytest

from image_repair.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "events" / "actiontrail-create-image.json"
ITEMS = "fstab,grub,virtio,dhcp"      # no package installs: no network needed

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def broken_debian():
    from image_repair_lab.testimages import Recipe, broken_image
    return str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)


def test_create_image_event_repairs_a_broken_debian_image_once(broken_debian, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    event = json.loads(SAMPLE.read_text())
    delivery = tmp_path / "delivery.json"
    delivery.write_text(json.dumps([event, event]))          # at least once: the same event twice
    code = main(["events", "deliver", str(delivery), "--image-file", broken_debian,
                 "--cloud-dir", str(tmp_path / "cloud"), "--defaults", json.dumps({"repairItems": ITEMS}),
                 "--time-scale", "0.01", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    result = json.loads(out.out)
    accepted = result["summary"]["accepted"]
    assert len(accepted) == 2 and accepted[0]["started"] and accepted[1]["duplicate"] and not accepted[1]["started"]
    assert accepted[0]["imageId"] != event["data"]["responseElements"]["ImageId"]   # the registered disk's id
    (execution,) = result["executions"]
    assert execution["status"] == "SUCCEEDED" and execution["executionId"].startswith("watch-")
    report = execution["report"]
    before = {i["name"] for i in report["itemsBefore"] if i.get("riskLevel")}
    after = {i["name"] for i in report["itemsAfter"] if i.get("riskLevel")}
    assert "GUESTOS.Virtio" in before and "GUESTOS.Virtio" not in after
    assert {r["status"] for r in report["repair"]["results"]} <= {"repaired", "ok"}
    assert main(["list"]) == 0
    assert capsys.readouterr().out.count("watch-") == 1
