"""Benchmarks 1 and 2: the workflow's critical path and its API calls, ours against the seed
template's (replicated as state_machine/reference/acs_ecs_repair_image.yaml), each on a fresh
emulator with the same latency model, on the emulator's virtual clock (a flow's Wait moves it).

Time points, in virtual seconds from the start of the execution:
- "to image Available": when the new image entered Available (read from the emulator's own
  lifecycle record, exact). The seed never waits for it: its flow ends before, so its figure is
  when the image it asked for became usable.
- "to checked image" (ours only): when our flow ended Succeeded: the new image's check Finished,
  its items read, the repair host deleted.
- "host instance-seconds": from the repair host's RunInstances to its accepted DeleteInstance (or
  the flow's end, if it was never deleted): what the repair host is billed for, per repaired image.
- "disk GiB-seconds": every disk the flow created, its size times the virtual seconds it existed
  (MeteredClock: the clock moves only by waits and charged invocations, API calls take none, so
  summing over the clock's moves is exact). Ours keeps the repaired disk alone after the release.
- FC (ours only, bench/fc_model.py): each Task state is one function invocation, charged a cold
  start or a warm invocation on the virtual clock before it runs; the seed's OOS runs its actions
  itself.

The figures are reported at the model's one typical point (for reference) and over seeded draws
(bench/cloud.py drawn_scenarios), each draw fed to both flows: means and percentiles over draws.
"""
import statistics
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Union

from image_repair.control.clients.ecs import EcsPort
from image_repair.control.flow import FlowRunner, load_definition_file
from image_repair.control.local_run import CloudClock, load_repair_flow
from image_repair.control.models import flow_input
from image_repair.control.steps.common import Ports
from image_repair.control.steps.runner import bound_handlers
from image_repair.control.steps.start import record_execution
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs

from . import cloud, fc_model, prices
from .seed_functions import seed_handlers, with_internal_calls

REFERENCE = Path(__file__).resolve().parents[1] / "state_machine" / "reference" / "acs_ecs_repair_image.yaml"


def load_reference_flow():
    return load_definition_file(str(REFERENCE), functions=set(seed_handlers(None, "").keys()))


def _calls(backend) -> dict:
    counts = {}
    for call in backend.calls:
        counts[call.action] = counts.get(call.action, 0) + 1
    return dict(sorted(counts.items()))


def _host_seconds(backend, end: float) -> Optional[float]:
    """The repair host's life: its RunInstances to the DeleteInstance ECS accepted (flow end if none)."""
    launched = next((c.time for c in backend.calls if c.action == "RunInstances" and not c.error_code), None)
    if launched is None:
        return None
    deleted = next((c.time for c in backend.calls if c.action == "DeleteInstance" and not c.error_code), end)
    return deleted - launched


def _image_times(backend, image_id: Optional[str], start: float) -> dict:
    """When the image entered Available and its check Finished (settled far ahead of the flow)."""
    if not image_id or image_id not in backend.images:
        return {"available": None, "checked": None}
    backend.advance(3600)
    image = backend.images[image_id]
    return {"available": image.progress.since - start if image.status == "Available" else None,
            "checked": image.check.since - start if image.check.status == "Finished" else None}


Latency = Union[str, cloud.Scenario]


class MeteredClock(CloudClock):
    """The flow's clock on the emulator's virtual time, integrating what the flow created while
    time passes: its instances' seconds and its disks' GiB-seconds (by category). Resources that
    existed before the flow started are not counted."""

    def __init__(self, backend):
        super().__init__(backend)
        self.instances_before, self.disks_before = set(backend.instances), set(backend.disks)
        self.instance_seconds = 0.0
        self.disk_gib_seconds: dict = {}

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.instance_seconds += seconds * len(set(self.backend.instances) - self.instances_before)
            for disk_id, disk in self.backend.disks.items():
                if disk_id not in self.disks_before:
                    key = disk.category
                    self.disk_gib_seconds[key] = self.disk_gib_seconds.get(key, 0.0) + seconds * disk.size
        self.backend.advance(seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def metered(self) -> dict:
        return {"instance_seconds": self.instance_seconds, "disk_gib_seconds": dict(self.disk_gib_seconds),
                "disk_gib_seconds_total": sum(self.disk_gib_seconds.values())}


def run_seed(latency: Latency = "realistic") -> dict:
    scen = cloud.scenario(latency)
    host = cloud.RepairHost(scen.repair_seconds)
    with mock_ecs(cloud.seed(), latency=scen.model) as backend:
        backend.command_handlers.append(host)
        clock = MeteredClock(backend)
        runner = FlowRunner(load_reference_flow(), seed_handlers(ecs_client(backend), backend.region),
                            clock=clock, region=backend.region)
        start = clock.now()
        ctx = dict(cloud.PARAMS, repairItems=list(cloud.SEED_ITEMS))
        result = runner.run({"ctx": ctx, "attempt": 0}, name="seed-reference")
        end = clock.now()
        final = (result.output or {}).get("ctx", {})
        times = _image_times(backend, final.get("imageId"), start)
        return {"status": result.status, "error": result.error_code, "flow_end_s": end - start,
                "to_image_available_s": times["available"], "image_checked_s": times["checked"],
                "function_invocations": len(result.events("TaskSucceeded")) + len(result.events("TaskFailed")),
                "waits_s": list(clock.sleeps), "repairs_run": host.repairs, "calls": _calls(backend),
                "calls_with_internal": with_internal_calls(_calls(backend)),
                "host_seconds": _host_seconds(backend, end), "metered": clock.metered(),
                "fc_invocations": 0, "fc_cold_starts": 0, "fc_charged_s": 0.0,   # OOS runs its actions
                "disk0_is_data_disk": final.get("disk0IsDataDisk")}


def run_ours(latency: Latency = "realistic", engine: str = "agent", agent_progress: bool = True) -> dict:
    scen = cloud.scenario(latency)
    host = cloud.RepairHost(scen.repair_seconds, progress=agent_progress)
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp, \
            mock_ecs(cloud.seed(), latency=scen.model) as backend:
        backend.command_handlers.append(host)
        clock = MeteredClock(backend)
        meter = fc_model.FunctionMeter(clock.now, clock.advance)
        store = SQLiteStore(str(Path(tmp) / "state.db"), clock=clock.now)
        try:
            ports = Ports(store=store, ecs=EcsPort(ecs_client(backend), backend.region), clock=clock.now,
                          agent_zipapp=_zipapp)
            execution, _, _ = record_execution(store, dict(cloud.PARAMS, repairItems="auto", engine=engine))
            start = clock.now()
            # the deployed flow as control/local_run.py runs it, each function invocation metered
            runner = FlowRunner(load_repair_flow(), meter.wrap(bound_handlers(ports)), clock=clock,
                                region=backend.region)
            result = runner.run(flow_input(execution.execution_id), name=execution.execution_id)
            end = clock.now()
            report = store.get_execution(execution.execution_id).report or {}
        finally:
            store.close()
        times = _image_times(backend, report.get("newImageId"), start)
        return {"status": result.status, "error": result.error_code, "flow_end_s": end - start,
                "to_image_available_s": times["available"], "to_checked_image_s": end - start,
                "image_checked_s": times["checked"], "waits_s": list(clock.sleeps),
                "function_invocations": len(result.events("TaskSucceeded")) + len(result.events("TaskFailed")),
                "repairs_run": host.repairs, "calls": _calls(backend),
                "host_seconds": _host_seconds(backend, end), "metered": clock.metered(),
                **meter.summary(), "step_seconds": report.get("stepSeconds")}


_ZIPAPP = None


def _zipapp() -> bytes:
    global _ZIPAPP
    if _ZIPAPP is None:
        from image_repair.control.agent_build import build_zipapp
        _ZIPAPP = build_zipapp()
    return _ZIPAPP


def benchmark(latency: Latency = "realistic") -> dict:
    """Both runs on one scenario, the ratios and our overhead above the unavoidable cloud work."""
    seed, ours = run_seed(latency), run_ours(latency)
    floor = cloud.unavoidable_seconds(latency)
    to_available = floor["repair host boot"] + floor["repair itself"] + floor["snapshot"] + floor["image creation"]
    to_checked = to_available + floor["image check"]
    out = {"latency_model": cloud.scenario(latency).name, "seed": seed, "ours": ours, "unavoidable_s": floor,
           "unavoidable_to_available_s": to_available, "unavoidable_to_checked_s": to_checked}
    if seed["to_image_available_s"] and ours["to_image_available_s"]:
        out["ratio_to_available"] = ours["to_image_available_s"] / seed["to_image_available_s"]
    if to_available and ours["to_image_available_s"]:     # none with latency "immediate" (the tests)
        out["overhead_to_available"] = ours["to_image_available_s"] / to_available - 1
        out["overhead_to_checked"] = ours["to_checked_image_s"] / to_checked - 1
    if seed["host_seconds"] and ours["host_seconds"] is not None:
        out["ratio_host_seconds"] = ours["host_seconds"] / seed["host_seconds"]
    out["money"] = prices.money_per_image(ours, seed, cloud.PARAMS["instanceType"])
    out["ratio_money_upper"] = out["money"].get("ratio_upper")
    for figure in FC_FIGURES:
        out[figure] = ours.get(figure)
    return out


FC_FIGURES = ("fc_invocations", "fc_cold_starts", "fc_charged_s")
FIGURES = ("ratio_to_available", "overhead_to_available", "overhead_to_checked", "ratio_host_seconds",
           "ratio_money_upper") + FC_FIGURES


def summary(values: List[float]) -> dict:
    ordered = sorted(values)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]
    return {"mean": statistics.fmean(ordered), "median": statistics.median(ordered), "p10": percentile(0.1),
            "p90": percentile(0.9), "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def benchmark_draws(count: int = 100, seed: int = cloud.DRAW_SEED, progress=None) -> dict:
    """Both flows on each of ``count`` seeded draws (the same draw for both): each figure's mean,
    median, p10 and p90 over the draws. A draw where either flow failed is counted, not averaged."""
    per_draw, failed = [], []
    for index, scen in enumerate(cloud.drawn_scenarios(count, seed)):
        result = benchmark(scen)
        if result["seed"]["status"] != "Succeeded" or result["ours"]["status"] != "Succeeded":
            failed.append({"draw": scen.name, "seed": result["seed"]["error"], "ours": result["ours"]["error"]})
            continue
        per_draw.append({figure: result.get(figure) for figure in FIGURES})
        if progress and (index + 1) % 10 == 0:
            print("bench: workflow draw %d/%d" % (index + 1, count), file=progress, flush=True)
    figures = {figure: summary([d[figure] for d in per_draw if d[figure] is not None])
               for figure in FIGURES if any(d[figure] is not None for d in per_draw)}
    return {"draws": count, "seed": seed, "jitter": cloud.JITTER, "failed": failed, "figures": figures,
            "fc_basis": fc_model.basis(), "prices": prices.table()}


def run_all(draws: int = 100) -> dict:
    """What ``python -m bench --only workflow`` runs: the typical point, the slow sensitivity check
    and the draws."""
    return {"realistic": benchmark("realistic"), "slow": benchmark("slow"),
            "draws": benchmark_draws(draws, progress=sys.stderr)}
