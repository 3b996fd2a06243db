"""Image check item names in both spellings (issue 10 point 4): ``Virtio`` (the DescribeImages API
metadata's example answers "Nvme"; the seed template matches "SystemImage") and ``GUESTOS.Virtio``
(the user guide). Every reader maps names through agent/items/checknames.py; the emulator answers
in either spelling (seed ``check_item_names``), and the watch, the sweep and ``auto`` pick the same
images and items from both."""
import copy

import pytest

from image_repair.agent.items import ITEM_NAMES, load_item
from image_repair.agent.items.checknames import (CHECK_ITEMS, SPELLINGS, check_item_name, is_check_item,
                                                 repair_item_for, spelt)
from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.localcloud import report_to_items
from image_repair.emulator.seed import DEFAULT_SEED, build_backend, many_images, seed_with_images
from image_repair.control.models import FlowEvent, WatchPolicy
from image_repair.cli.cloud_target import emulator_defaults
from image_repair.control.steps import check_source_image, watch_source_image
from image_repair.control.policy import at_risk_items, check_items, refusal, repair_items_at_risk
from image_repair.control.steps.check_source_image import summarize
from image_repair.control.steps.common import Ports
from image_repair.control.steps.report import build_report
from image_repair.control.steps.start import record_execution
from image_repair.testing import ecs_client, mock_ecs
from image_repair.control.triggers.sweep import SweepPolicy, sweep

SOURCE = "m-bp1emulatorbrokenimg01"      # the default seed's broken image (Virtio, Nvme, Fstab High)


def test_every_repair_item_has_one_check_item_and_answers_it_in_the_user_guide_spelling():
    assert sorted(CHECK_ITEMS) == sorted(ITEM_NAMES)
    assert len(set(CHECK_ITEMS.values())) == len(CHECK_ITEMS)
    for name in ITEM_NAMES:
        assert load_item(name).check_item == "GUESTOS." + CHECK_ITEMS[name] == check_item_name(name)
        assert check_item_name(name, "bare") == CHECK_ITEMS[name]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("item", ITEM_NAMES)
def test_a_check_item_in_either_spelling_maps_to_its_repair_item(spelling, item):
    assert repair_item_for(check_item_name(item, spelling)) == item


@pytest.mark.parametrize("name", ["virtio", "VIRTIO", "GUESTOS.virtio", "guestos.Virtio", "SystemImage",
                                  "Platform", "", "GUESTOS.", None, 42])
def test_other_names_map_to_nothing(name):
    """Case as the API gives it: every source writes each name in one case."""
    assert repair_item_for(name) is None


def test_the_emulator_spells_names_as_the_seed_says():
    assert spelt("GUESTOS.Virtio", "bare") == "Virtio" and spelt("Virtio", "bare") == "Virtio"
    assert spelt("Virtio", "prefixed") == "GUESTOS.Virtio" == spelt("GUESTOS.Virtio", "prefixed")
    assert spelt("SystemImage", "prefixed") == "SystemImage"          # as written: the default is unchanged
    assert spelt("GUESTOS.SystemImage", "bare") == "SystemImage"
    with pytest.raises(ValueError):
        spelt("Virtio", "Bare")


def shape(name, risk=None, value="UnSupported"):
    item = {"Name": name, "Value": value}
    if risk:
        item.update(RiskLevel=risk, RiskCode="%s.NotInstalled" % name.split(".")[-1])
    return item


def image(*items, **extra) -> dict:
    shaped = {"ImageId": SOURCE, "ImageName": "img", "Status": "Available", "ImageOwnerAlias": "self",
              "OSType": "linux", "Architecture": "x86_64", "Platform": "CentOS",
              "DiskDeviceMappings": {"DiskDeviceMapping": [{"Type": "system", "SnapshotId": "s-1", "Size": "20"}]},
              "DetectionOptions": {"Status": "Finished", "Items": {"Item": list(items)}}}
    shaped.update(extra)
    return shaped


def risky_image(spelling: str) -> dict:
    return image(shape(spelt("GUESTOS.Virtio", spelling), "High"), shape(spelt("GUESTOS.Nvme", spelling), "High"),
                 shape(spelt("GUESTOS.CloudInit", spelling), "Medium"),
                 shape(spelt("GUESTOS.Fstab", spelling), value="Supported"), shape("SystemImage", value="Supported"))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_reader_takes_both_spellings(spelling):
    """watch policy, sweep selection, ``auto`` (the public command's list), the report."""
    shaped = risky_image(spelling)
    names = {i["name"] for i in check_items(shaped)}
    assert ("Virtio" in names) is (spelling == "bare")        # the names really differ
    assert [i.get("repairItem") for i in check_items(shaped)] == ["virtio", "nvme", "cloudinit", "fstab", None]
    assert repair_items_at_risk(check_items(shaped)) == ["virtio", "nvme", "cloudinit"]
    assert at_risk_items(shaped, SweepPolicy()) == ["nvme", "virtio"]
    assert at_risk_items(shaped, SweepPolicy(riskLevels=["Medium"])) == ["cloudinit"]
    decision = watch_source_image.decide(shaped, WatchPolicy(items=["virtio", "cloudinit"]))
    assert decision["itemsAtRisk"] == ["virtio"] and not decision["healthy"]
    summary = summarize(shaped, ["auto"], "alibaba")
    assert summary["items"] == ["virtio", "nvme", "cloudinit"] == summary["itemsAtRisk"]


@pytest.mark.parametrize("name", ["SystemImage", "GUESTOS.SystemImage"])
def test_an_invalid_system_image_is_refused_in_either_spelling(name):
    assert "SystemImage Invalid" in refusal(image(shape(name, value="Invalid")))
    assert refusal(image(shape(name, value="Supported"))) == ""


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_report_compares_before_and_after_by_repair_item(store, spelling):
    execution, _, _ = record_execution(store, dict(emulator_defaults(DEFAULT_SEED), repairImageId=SOURCE))
    before = check_items(risky_image(spelling))
    after = check_items(image(shape(spelt("GUESTOS.CloudInit", spelling), "Medium")))
    store.record_step_result(execution.execution_id, "check_source_image", {"itemsBefore": before})
    store.record_step_result(execution.execution_id, "wait_for_image_check", {"itemsAfter": after})
    report = build_report(store.get_execution(execution.execution_id))
    assert report["atRiskBefore"] == ["virtio", "nvme", "cloudinit"] and report["atRiskAfter"] == ["cloudinit"]
    assert report["itemsBefore"] == before


def seed_spelt(spelling: str, seed=None) -> dict:
    seed = copy.deepcopy(seed or DEFAULT_SEED)
    seed["check_item_names"] = spelling
    return seed


def test_the_seed_option_defaults_to_the_names_as_written_and_refuses_others():
    assert build_backend(DEFAULT_SEED).check_item_spelling == "prefixed"
    with pytest.raises(ValueError, match="check_item_names"):
        build_backend(seed_spelt("GUESTOS"))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_describe_images_answers_in_the_seeds_spelling(spelling):
    with mock_ecs(seed_spelt(spelling)) as backend:
        found = EcsPort(ecs_client(backend), backend.region).describe_image(SOURCE)
    names = [i["Name"] for i in found["DetectionOptions"]["Items"]["Item"]]
    prefixed = ["GUESTOS.Virtio", "GUESTOS.Nvme", "GUESTOS.Fstab", "GUESTOS.CloudInit", "SystemImage", "Platform"]
    assert names == [spelt(n, spelling) for n in prefixed]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_local_clouds_check_answers_in_the_seeds_spelling(spelling):
    """localcloud's check of a new image (check-disk's report) goes out through DescribeImages."""
    from image_repair.emulator.actions.images import image_shape
    backend = build_backend(seed_spelt(spelling))
    image_model = backend.images[SOURCE]
    image_model.check_items = report_to_items({"items": [{"name": "virtio", "status": "skipped", "risk": "High"},
                                                         {"name": "growpart", "status": "ok"}]})
    shaped = image_shape(image_model, backend.clock.now(), backend.check_item_spelling)
    assert [i["Name"] for i in shaped["DetectionOptions"]["Items"]["Item"]] == [
        "SystemImage", spelt("GUESTOS.Virtio", spelling), spelt("GUESTOS.OnlineResizeFS", spelling)]
    assert repair_items_at_risk(check_items(shaped)) == ["virtio"]


def picks(spelling: str, store) -> dict:
    """What the sweep, the watch and ``auto`` pick on an account answering in ``spelling``."""
    images = many_images(90, at_risk_fraction=0.2, other_fraction=0.5, seed=11)
    seed = seed_spelt(spelling, seed_with_images(images))
    with mock_ecs(seed) as backend:
        ecs = EcsPort(ecs_client(backend), backend.region)
        defaults = emulator_defaults(backend.seed_data)
        swept = sweep(ecs, store, None, {"riskLevels": ["High", "Medium"], "maxConcurrent": 1000},
                      dry_run=True, defaults=defaults)
        ports = Ports(store=store, ecs=ecs)
        watched, auto = {}, {}
        for spec in images:
            if spec["name"].endswith(("-at_risk", "-medium_only", "-healthy", "-no_system_disk")):
                execution, _, _ = record_execution(store, dict(defaults, repairImageId=spec["id"], watch=True,
                                                               policy={"riskLevels": ["High", "Medium"]}))
                watch_source_image.run(ports, FlowEvent(executionId=execution.execution_id))
                decision = store.get_step(execution.execution_id, watch_source_image.STEP).result
                watched[spec["id"]] = decision["itemsAtRisk"]
            if spec["name"].endswith(("-at_risk", "-medium_only")):
                execution, _, _ = record_execution(store, dict(defaults, repairImageId=spec["id"], engine="alibaba",
                                                               repairItems="auto"))
                check_source_image.run(ports, FlowEvent(executionId=execution.execution_id))
                auto[spec["id"]] = store.get_step(execution.execution_id, check_source_image.STEP).result["items"]
        named = {i["Name"] for i in ecs.describe_image(images[0]["id"])["DetectionOptions"]["Items"]["Item"]}
    return {"sweep": {d.imageId: d.items for d in swept.needRepair}, "watch": watched, "auto": auto,
            "names": named}


def test_watch_sweep_and_auto_pick_the_same_images_and_items_in_both_spellings(tmp_path):
    from image_repair.control.store.sqlite import SQLiteStore
    found = {}
    for spelling in SPELLINGS:
        store = SQLiteStore(str(tmp_path / ("%s.db" % spelling)))
        found[spelling] = picks(spelling, store)
        store.close()
    prefixed, bare = found["prefixed"], found["bare"]
    assert prefixed["names"] != bare["names"]                           # the answers differ...
    for reader in ("sweep", "watch", "auto"):
        assert prefixed[reader] == bare[reader], reader                 # ...the picks do not
    # and they are the right ones: read off the generated images' kinds, not the rules under test
    images = many_images(90, at_risk_fraction=0.2, other_fraction=0.5, seed=11)
    kinds = {i["id"]: i["name"].rsplit("-", 1)[1] for i in images}
    expected = {"at_risk": ["fstab", "virtio"], "medium_only": ["cloudinit"]}
    assert bare["sweep"] == {i: expected[k] for i, k in kinds.items() if k in expected}
    assert bare["watch"] == {i: expected.get(k, []) for i, k in kinds.items()
                             if k in ("at_risk", "medium_only", "healthy", "no_system_disk")}
    assert bare["auto"] == {i: {"at_risk": ["virtio", "fstab"], "medium_only": ["cloudinit"]}[k]
                            for i, k in kinds.items() if k in expected}
    assert any(kinds[i] == "healthy" for i in bare["watch"]) and bare["sweep"]
