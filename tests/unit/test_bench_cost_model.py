"""Issue 12's cost model in benchmark 1 (bench/fc_model.py, bench/prices.py, bench/report.py): the
cold-start rule from FC's documented idle reclaim, the charge moving the flow's clock, the money
row from documented prices only (the bounds of the ratio when none is documented), and the goal
summary naming every goal."""
import pytest

from bench import fc_model, prices
from bench.report import ISSUE_12_GOALS, goal_summary, package_versions, row


class Clock:
    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def test_a_function_idle_longer_than_fc_reclaims_it_starts_cold_and_the_charge_moves_the_clock():
    clock = Clock()
    meter = fc_model.FunctionMeter(clock.now, clock.advance, cold_s=1.0, warm_s=0.1)
    handlers = meter.wrap({"a": lambda event, context=None: "A", "b": lambda event, context=None: "B"})
    assert handlers["a"]("{}") == "A"                 # first: cold
    assert clock.t == 1.0
    clock.advance(fc_model.IDLE_RECLAIM_S)            # idle exactly the reclaim time: still warm
    handlers["a"]("{}")
    assert clock.t == 1.0 + fc_model.IDLE_RECLAIM_S + 0.1
    handlers["b"]("{}")                               # another function: its own instance, cold
    clock.advance(fc_model.IDLE_RECLAIM_S + 1)        # past the reclaim: cold again
    handlers["a"]("{}")
    summary = meter.summary()
    assert (summary["fc_invocations"], summary["fc_cold_starts"]) == (4, 3)
    assert summary["fc_charged_s"] == pytest.approx(3 * 1.0 + 0.1)


def test_the_idle_reclaim_is_the_lower_bound_of_fcs_documented_3_to_5_minutes():
    assert fc_model.IDLE_RECLAIM_S == 3 * 60
    assert fc_model.IDLE_RECLAIM_SOURCE.startswith("https://www.alibabacloud.com/help/en/fc/")
    basis = fc_model.basis()
    assert basis["cold_start_s"] > basis["warm_invocation_s"] > 0 and "benchmark 3" in basis["cold_start_basis"]


def test_a_failing_handler_is_still_counted():
    clock = Clock()
    meter = fc_model.FunctionMeter(clock.now, clock.advance)

    def broken(event, context=None):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        meter.wrap({"x": broken})["x"]("{}")
    assert meter.summary()["fc_invocations"] == 1 and meter.last_done == {"x": clock.t}


def flows(ours_host, seed_host, ours_disk, seed_disk):
    return ({"host_seconds": ours_host, "metered": {"disk_gib_seconds": {"cloud_essd": ours_disk}}},
            {"host_seconds": seed_host, "metered": {"disk_gib_seconds": {"cloud_essd": seed_disk}}})


def test_no_price_is_invented_and_the_money_ratio_is_bounded_by_the_billed_quantities():
    assert all(price is None for price, _, _ in prices.INSTANCE_USD_PER_HOUR.values())
    assert all(price is None for price, _, _ in prices.DISK_USD_PER_GIB_HOUR.values()) and not prices.documented()
    money = prices.money_per_image(*flows(170.0, 314.0, 9000.0, 12560.0), "ecs.g7.large")
    assert money["usd_ours"] is None and money["usd_seed"] is None and "ratio" not in money
    assert money["ratio_lower"] == pytest.approx(170 / 314) and money["ratio_upper"] == pytest.approx(9000 / 12560)
    table = prices.table()
    assert table["instance_billing_source"].startswith("https://www.alibabacloud.com/help/en/ecs/")
    assert table["disk_billing_source"].startswith("https://www.alibabacloud.com/help/en/ecs/")


def test_with_documented_prices_the_money_is_computed(monkeypatch):
    monkeypatch.setitem(prices.INSTANCE_USD_PER_HOUR, "ecs.g7.large", (0.36, "test", "today"))
    monkeypatch.setitem(prices.DISK_USD_PER_GIB_HOUR, "cloud_essd", (0.0036, "test", "today"))
    money = prices.money_per_image(*flows(3600.0, 7200.0, 3600.0, 3600.0), "ecs.g7.large")
    assert money["usd_ours"] == pytest.approx(0.36 + 0.0036)
    assert money["usd_seed"] == pytest.approx(0.72 + 0.0036)
    assert money["ratio"] == money["ratio_lower"] == money["ratio_upper"]
    assert money["ratio_lower"] <= money["ratios"]["cloud_essd GiB-seconds"]


def test_a_quantity_missing_for_one_flow_gives_no_ratio():
    ours, seed = flows(100.0, 0.0, 1.0, 1.0)
    assert prices.money_per_image(ours, seed, "ecs.g7.large")["ratio_upper"] is None


def test_the_goal_summary_names_every_goal_of_issue_12_run_or_not():
    rows = [row("1 cost: repair host instance-seconds per image, ours / seed (mean)", None, None, 0.3,
                "<= 0.5 x", True),
            row("1 workflow: our overhead above the unavoidable work (mean)", None, None, 1.2, "<= 1.05 x", False)]
    text = goal_summary(rows)
    assert text.count("\n") == len(ISSUE_12_GOALS)
    assert "0.300 x, goal <= 0.5: met" in text and "20.0 %, goal <= 5 % (p90 <= 8 %): NOT met" in text
    assert text.count("not run") == len(ISSUE_12_GOALS) - 2


def test_package_versions_are_recorded():
    versions = package_versions()
    assert versions["python"] and versions["pydantic"] and versions["alibabacloud-ecs20140526"]
