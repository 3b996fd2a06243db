"""The benchmarks' machinery works on tiny inputs (bench/, run by ``python -m bench``). No timing
is asserted here: benchmarks are run by command, never as timed tests."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import cloud, coldstart, workflow  # noqa: E402
from bench.report import rows_for, table  # noqa: E402


def test_reference_flow_of_the_seed_template_validates():
    definition = workflow.load_reference_flow()
    assert definition.start_at == "checkImage"
    # the seed's fixed sleeps and its reboot are in it
    waits = [s for s in definition.states.values() if type(s).__name__ == "WaitState"]
    assert any(getattr(s, "seconds", None) == 60 for s in waits)
    assert "rebootInstance" in definition.states


def test_both_flows_repair_on_the_immediate_emulator():
    seed = workflow.run_seed("immediate")
    assert seed["status"] == "Succeeded", seed["error"]
    assert seed["repairs_run"] == 1 and seed["to_image_available_s"] is not None
    assert seed["calls"]["InvokeCommand"] == 1 and seed["calls"]["RebootInstance"] == 1
    assert seed["calls"]["CreateImage"] == 1 and seed["calls"]["DeleteInstance"] == 1
    ours = workflow.run_ours("immediate")
    assert ours["status"] == "Succeeded", ours["error"]
    assert ours["repairs_run"] == 1 and ours["calls"]["CreateImage"] == 1
    assert "RebootInstance" not in ours["calls"] and ours["to_checked_image_s"] is not None


def test_benchmark_figures_become_rows_and_a_table():
    result = workflow.benchmark("immediate")
    assert result["unavoidable_to_available_s"] == 0
    rows = rows_for({"workflow": {"realistic": dict(result, ratio_to_available=0.5, overhead_to_available=0.01,
                                                    overhead_to_checked=0.02)}})
    assert rows[0]["met"] is True and rows[1]["met"] is True
    text = table(rows)
    assert "to image Available" in text and "met?" in text


def test_the_cost_row_compares_both_hosts_on_the_same_draws():
    """Each draw is fed to both flows; the host's instance-seconds come from the call log."""
    assert cloud.drawn(3)[0] == cloud.drawn(3)[0] and cloud.drawn(3)[1] != cloud.drawn(4)[1]
    cost = workflow.cost_benchmark(draws=2)
    assert len(cost["per_draw"]) == 2
    for draw in cost["per_draw"]:
        # ours releases its host before the snapshot, the seed after CreateImage
        assert 0 < draw["ours_host_s"] < draw["seed_host_s"] and draw["ours_kept_disk_s"] > 0
    rows = rows_for({"workflow": {"cost": cost}})
    assert rows[0]["benchmark"].startswith("1 cost: repair-host instance-seconds") and rows[0]["goal"] == "<= 0.5 x"
    assert rows[0]["ratio"] == cost["ratio_mean"]


def test_latency_scenarios_slow_is_slower():
    assert cloud.unavoidable_seconds("slow")["snapshot"] > cloud.unavoidable_seconds("realistic")["snapshot"]
    with pytest.raises(ValueError):
        cloud.latency_model("warp")


def test_cold_start_measures_in_a_fresh_interpreter(tmp_path):
    env = coldstart.fc_like_env(str(tmp_path))
    alone = coldstart.measure("alone", "image_repair.control.handlers.check_source_image", env)
    first = coldstart.measure("first_event", "image_repair.control.handlers.check_source_image", env)
    assert alone["seconds"] > 0 and alone["maxrss_mb"] > 0
    # the first event loads the ECS SDK and the store: many more modules than the handler alone
    assert first["modules"] > alone["modules"]
    assert "image_repair.control.handlers.start" in coldstart.handler_modules()


@pytest.mark.needs_root
def test_bare_regeneration_and_the_agent_run_on_the_demo_image():
    from bench import agent_disk
    from image_repair_lab.demo import DEMO_BREAKAGES, DEMO_RECIPE
    from image_repair_lab.testimages import broken_image
    from image_repair_lab.testimages.builder import manifest_path
    # Built (debootstrap, minutes) when the cache lacks it, as the local-cloud tests do: the same image.
    image = broken_image(DEMO_RECIPE, DEMO_BREAKAGES).path
    assert manifest_path(image).exists()
    result = agent_disk.benchmark(repeats=1, image=image)
    assert result["bare_runs"][0]["commands"][0][0] in ("update-initramfs", "dracut")
    assert "repaired" in result["ours_runs"][0]["statuses"].values()


def test_sweep_benchmark_counts_pages_against_the_minimum():
    from bench import sweep
    result = sweep.benchmark(images=250)
    assert result["minimum_calls"] == 3 and result["calls_by_action"]["DescribeImages"] >= 3
    assert result["images_seen"] <= 250 and result["started"] >= 1
