"""The benchmarks' figures as rows (benchmark, ours, reference, ratio, goal, met?) and a table."""
import os
import platform
import subprocess
from importlib import metadata
from typing import List, Optional

from . import prices

# The distributions whose versions move the figures (SDKs, validation, the store), recorded in
# every result so that two runs are compared knowing what they ran.
PACKAGES = ("alibabacloud-ecs20140526", "alibabacloud-tea-openapi", "darabonba-core", "alibabacloud-tea-util",
            "tablestore", "pydantic", "pydantic-core", "protobuf", "PyYAML")


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "kernel": platform.release(), "commit": _git_commit()}


def package_versions() -> dict:
    """{distribution: version} of PACKAGES as installed (None: not installed), and python's."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
    except OSError:
        return ""


def row(name: str, ours, reference, ratio: Optional[float], goal: str, met: Optional[bool], unit: str = "",
        note: str = "") -> dict:
    return {"benchmark": name, "ours": ours, "reference": reference, "ratio": ratio, "goal": goal,
            "met": met, "unit": unit, "note": note}


def rows_for(results: dict) -> List[dict]:
    rows = []
    flow = results.get("workflow", {}).get("realistic")
    draws = results.get("workflow", {}).get("draws")
    if draws:
        rows += _draw_rows(draws)
    if flow:
        seed, ours = flow["seed"], flow["ours"]
        ratio = flow.get("ratio_to_available")
        rows.append(row("1 workflow at the typical point: to image Available (seed template = ref)",
                        ours["to_image_available_s"], seed["to_image_available_s"], ratio, "(reference point)",
                        None, "s", "floor (unavoidable) = %.0f s = %.2f x the seed" % (
                            flow["unavoidable_to_available_s"],
                            flow["unavoidable_to_available_s"] / seed["to_image_available_s"])))
        over = flow.get("overhead_to_available")
        rows.append(row("1 workflow at the typical point: overhead above unavoidable, to image Available",
                        ours["to_image_available_s"], flow["unavoidable_to_available_s"],
                        None if over is None else 1 + over, "(reference point)", None, "s"))
        over_c = flow.get("overhead_to_checked")
        rows.append(row("1 workflow at the typical point: to checked image (ours only; incl. check, cleanup)",
                        ours["to_checked_image_s"], flow["unavoidable_to_checked_s"],
                        None if over_c is None else 1 + over_c, "(info)", None, "s"))
        if ours.get("host_seconds") is not None and seed.get("host_seconds"):
            rows.append(row("1 cost at the typical point: repair host instance-seconds per image",
                            ours["host_seconds"], seed["host_seconds"], ours["host_seconds"] / seed["host_seconds"],
                            "(reference point)", None, "s"))
        calls_ours = sum(ours["calls"].values())
        calls_seed = sum(seed.get("calls_with_internal", seed["calls"]).values())
        rows.append(row("2 ECS API calls per successful repair (seed with its actions' internal calls)",
                        calls_ours, calls_seed, calls_ours / calls_seed, "<= 1.0 x", calls_ours <= calls_seed,
                        "calls", "the seed's replica makes %d; its OOS actions %d more (bench/seed_functions.py)"
                        % (sum(seed["calls"].values()), calls_seed - sum(seed["calls"].values()))))
        rows.append(row("2 function invocations (flow Task states)", ours["function_invocations"],
                        seed["function_invocations"], ours["function_invocations"] / seed["function_invocations"],
                        "(no goal)", None, "calls"))
        rows += _fc_rows(flow)
        rows += _money_rows(flow)
    slow = results.get("workflow", {}).get("slow")
    if slow and slow.get("overhead_to_available") is not None:
        rows.append(row("1 workflow, slow cloud (x1.5): to image Available", slow["ours"]["to_image_available_s"],
                        slow["seed"]["to_image_available_s"], slow["ratio_to_available"], "(sensitivity)", None, "s",
                        "overhead above unavoidable %.1f %%" % (100 * slow["overhead_to_available"])))
    cold = results.get("coldstart")
    if cold:
        bare = cold["bare"]["cpu_seconds"]
        package = "deployed package%s" % (", no numpy" if not cold.get("package", {}).get("numpy", True) else "")
        for kind, label, goal in (("first_event", "first event, Tablestore store (%s)" % package,
                                   "<= 1.15 x"),
                                  ("first_event_sqlite", "first event, SQLite store (%s)" % package, "(info) <= 1.15 x"),
                                  ("first_event_with_numpy", "first event, Tablestore store, numpy installed",
                                   "(info) <= 1.15 x"),
                                  ("alone", "handler module alone", "(info)")):
            worst = cold.get(kind)
            if worst is None:              # a result written before this kind was measured
                continue
            # judged on the median handler (issue 12: the slowest of 13+ noisy medians adds noise); the slowest in the note
            typical = worst.get("median_handler_cpu_seconds", worst["cpu_seconds"])
            ratio = worst.get("median_handler_ratio_to_bare", worst["ratio_to_bare"])
            rows.append(row("3 cold start CPU: %s (median handler)" % label, typical, bare, ratio, goal,
                            ratio <= 1.15 if "1.15" in goal else None, "s",
                            "slowest %s %.3f s (%.2f x); wall %.3f s vs bare %.3f s (%.2f x)" % (
                                worst["worst_handler"].rsplit(".", 1)[1], worst["cpu_seconds"], worst["ratio_to_bare"],
                                worst["seconds"], cold["bare"]["seconds"], worst["wall_ratio_to_bare"])))
        raw = cold.get("without_bytecode")
        if raw:
            rows.append(row("3 cold start CPU without bytecode (no .pyc): first event (%s) vs bare, both without"
                            % raw["handler"].rsplit(".", 1)[1], raw["first_event"]["cpu_seconds"],
                            raw["bare"]["cpu_seconds"], raw["first_event"]["cpu_seconds"] / raw["bare"]["cpu_seconds"],
                            "(info)", None, "s", "%.1f x the bare import with bytecode"
                            % (raw["first_event"]["cpu_seconds"] / bare)))
        mem = cold["first_event"]["maxrss_mb"]
        rows.append(row("3 cold start: peak memory, first event (VmHWM; the function's limit = ref)", mem,
                        cold["memory_limit_mb"], mem / cold["memory_limit_mb"], "<= 100 MB", mem <= PEAK_MB_GOAL,
                        "MB", "bare import alone: %.0f MB" % cold["bare"]["maxrss_mb"]))
    agent = results.get("agent")
    if agent:
        rows.append(row("4 agent: repair-disk (offline items) vs bare regeneration", agent["ours_s"],
                        agent["bare_s"], agent["ratio"], "<= 1.3 x", agent["ratio"] <= 1.3, "s"))
    sweep = results.get("sweep")
    if sweep:
        rows.append(row("5 sweep of %d images: API calls vs minimum pages" % sweep["images"], sweep["calls"],
                        sweep["minimum_calls"], sweep["calls_ratio"], "<= 1.1 x", sweep["calls_ratio"] <= 1.1,
                        "calls"))
        rows.append(row("5 sweep of %d images: wall time" % sweep["images"], sweep["seconds"], 30.0,
                        sweep["seconds"] / 30.0, "< 30 s", sweep["seconds"] < 30.0, "s"))
    demo = results.get("demo")
    if demo:
        rows.append(row("6 demo, warm (scripts/demo.sh's job): wall clock", demo["seconds"], demo["goal_s"],
                        demo["seconds"] / demo["goal_s"], "<= 150 s", demo["seconds"] <= demo["goal_s"], "s"))
    if results.get("pool"):
        from .pool import rows as pool_rows
        rows += pool_rows(results["pool"])
    return rows


PEAK_MB_GOAL = 100.0


def _fc_rows(flow: dict) -> List[dict]:
    """Benchmark 1's FC model at the typical point (bench/fc_model.py): ours only, the seed's OOS
    runs its actions itself (reference 0)."""
    ours = flow["ours"]
    if ours.get("fc_invocations") is None:
        return []
    basis = "cold %.3g s (our measured first event), warm %.3g s (measured here: %.3g s), idle reclaim %.0f s" % (
        ours["cold_start_s"], ours["warm_invocation_s"], ours.get("warm_measured_median_s") or 0.0,
        ours["idle_reclaim_s"])
    return [row("1 FC at the typical point: function invocations per execution (the seed 0, OOS has no FC)",
                ours["fc_invocations"], 0, None, "(info)", None, "calls"),
            row("1 FC at the typical point: expected cold starts per execution", ours["fc_cold_starts"], 0, None,
                "(info)", None, "starts", basis),
            row("1 FC at the typical point: seconds charged on our flow's clock (in the ratios)",
                ours["fc_charged_s"], 0.0, None, "(info)", None, "s")]


def _money_rows(flow: dict) -> List[dict]:
    money = flow.get("money") or {}
    if money.get("ratio_upper") is None:
        return []
    quantities = "; ".join("%s %.0f / %.0f (%.3f)" % (name, mine, theirs, money["ratios"][name])
                           for name, (mine, theirs) in money["quantities"].items())
    if money.get("usd_ours") is not None:
        return [row("1 money at the typical point: repair host and disks per image (documented prices)",
                    money["usd_ours"], money["usd_seed"], money["ratio"], "(info)", None, "USD", quantities)]
    return [row("1 money at the typical point: no documented unit price; cost ratio ours / seed at most",
                None, None, money["ratio_upper"], "(info)", None, "",
                "between %.3f and %.3f whatever the prices (bench/prices.py); %s" % (
                    money["ratio_lower"], money["ratio_upper"], quantities))]


def _spread(figure: dict, percent: bool = False) -> str:
    scale, unit = (100.0, " %") if percent else (1.0, "")
    return "mean %.3g%s, median %.3g, p10 %.3g, p90 %.3g, range %.3g-%.3g over %d draws" % (
        figure["mean"] * scale, unit, figure["median"] * scale, figure["p10"] * scale, figure["p90"] * scale,
        figure["min"] * scale, figure["max"] * scale, figure["n"])


def _draw_rows(draws: dict) -> List[dict]:
    """The goals of the workflow benchmark, judged over the seeded draws (each fed to both flows)."""
    rows, figures = [], draws["figures"]
    label = "(mean over %d draws, durations x U(%.1f, %.1f))" % (draws["draws"], 1 - draws["jitter"],
                                                                 1 + draws["jitter"])
    ratio = figures.get("ratio_to_available")
    if ratio:
        rows.append(row("1 workflow: to image Available, ours / seed " + label, None, None, ratio["mean"],
                        "<= 0.65 x (p90 <= 0.75)", ratio["mean"] <= 0.65 and ratio["p90"] <= 0.75, "",
                        _spread(ratio)))
    over = figures.get("overhead_to_available")
    if over:
        rows.append(row("1 workflow: our overhead above the unavoidable work " + label, None, None,
                        1 + over["mean"], "<= 1.05 x (p90 <= 1.08)", over["mean"] <= 0.05 and over["p90"] <= 0.08,
                        "", _spread(over, percent=True)))
    host = figures.get("ratio_host_seconds")
    if host:
        rows.append(row("1 cost: repair host instance-seconds per image, ours / seed " + label, None, None,
                        host["mean"], "<= 0.5 x", host["mean"] <= 0.5, "", _spread(host)))
    money = figures.get("ratio_money_upper")
    if money:
        bound = "" if prices.documented() else ", upper bound (no documented price)"
        rows.append(row("1 money: repair host and disks per image, ours / seed%s %s" % (bound, label), None, None,
                        money["mean"], "(info)", None, "", _spread(money)))
    for figure, name, unit in (
            ("fc_invocations", "FC function invocations per execution (the seed 0, OOS has no FC)", "calls"),
            ("fc_cold_starts", "FC expected cold starts per execution", "starts"),
            ("fc_charged_s", "FC seconds charged on our flow's clock", "s")):
        if figures.get(figure):
            rows.append(row("1 %s %s" % (name, label), figures[figure]["mean"], 0, None, "(info)", None, unit,
                            _spread(figures[figure])))
    if draws.get("failed"):
        rows.append(row("1 workflow: draws where a flow failed", len(draws["failed"]), draws["draws"], None,
                        "0", False, "draws", "; ".join(str(f) for f in draws["failed"][:3])))
    return rows


# Issue 12's goals: (what, the start of the row's benchmark name that judges it, the goal).
ISSUE_12_GOALS = (
    ("host instance-seconds per image, ours / seed (mean over draws)", "1 cost: repair host instance-seconds",
     "<= 0.5"),
    ("workflow to image Available, ours / seed (mean; p90)", "1 workflow: to image Available, ours / seed",
     "<= 0.65 (p90 <= 0.75)"),
    ("our overhead above the unavoidable work (mean; p90)", "1 workflow: our overhead above the unavoidable",
     "<= 5 % (p90 <= 8 %)"),
    ("FC first event, median handler / bare SDK import", "3 cold start CPU: first event, Tablestore store (deployed",
     "<= 1.15"),
    ("FC first event, peak memory", "3 cold start: peak memory", "<= 100 MB"),
    ("ECS API calls per repair, ours / seed (with its internal calls)", "2 ECS API calls per successful repair",
     "<= 1.0"),
    ("demo, warm, wall clock", "6 demo, warm", "<= 150 s"),
)


def goal_summary(rows: List[dict]) -> str:
    """Every goal of issue 12 with its figure and met?, or that its benchmark did not run."""
    lines = ["issue 12 goals:"]
    for what, prefix, goal in ISSUE_12_GOALS:
        found = next((r for r in rows if r["benchmark"].startswith(prefix)), None)
        if found is None:
            lines.append("  %s: goal %s: not run" % (what, goal))
            continue
        if found["unit"] in ("MB", "s") and prefix[0] in "36" and "median" not in prefix:
            figure = "%s %s" % (_fmt(found["ours"]), found["unit"])          # memory, the demo's time
        elif "overhead" in prefix:
            figure = "%.1f %%" % (100 * (found["ratio"] - 1))
        else:
            figure = "%s x" % _fmt(found["ratio"])
        spread = " (%s)" % found["note"] if found["note"] and "draws" in found["note"] else ""
        lines.append("  %s: %s, goal %s: %s%s" % (what, figure, goal,
                                                 {True: "met", False: "NOT met", None: "-"}[found["met"]], spread))
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.3f" % value if abs(value) < 10 else "%.1f" % value
    return str(value)


def table(rows: List[dict]) -> str:
    header = ("benchmark", "ours", "reference", "ratio", "goal", "met?")
    lines = [header] + [(r["benchmark"], "%s %s" % (_fmt(r["ours"]), r["unit"]),
                         "%s %s" % (_fmt(r["reference"]), r["unit"]), _fmt(r["ratio"]), r["goal"],
                         {True: "yes", False: "NO", None: "-"}[r["met"]]) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = ["  %s: %s" % (r["benchmark"].split(":")[0], r["note"]) for r in rows if r["note"]]
    return "\n".join(out + (["notes:"] + notes if notes else []))


def calls_by_action(results: dict) -> str:
    """Benchmark 2 in detail: ECS calls per action, ours and the seed's (realistic latency)."""
    flow = results.get("workflow", {}).get("realistic")
    if not flow:
        return ""
    ours, seed = flow["ours"]["calls"], flow["seed"].get("calls_with_internal", flow["seed"]["calls"])
    actions = sorted(set(ours) | set(seed))
    width = max(len(a) for a in actions)
    lines = ["ECS calls by action (ours / seed template, its actions' internal calls included):"]
    lines += ["  %s  %3d / %3d" % (a.ljust(width), ours.get(a, 0), seed.get(a, 0)) for a in actions]
    return "\n".join(lines)
