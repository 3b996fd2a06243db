"""Benchmarks 1 and 2: the workflow's critical path and its API calls, ours against the seed
template's (replicated as state_machine/reference/acs_ecs_repair_image.yaml), each on a fresh
emulator with the same latency model, on the emulator's virtual clock (a flow's Wait moves it).

Time points, in virtual seconds from the start of the execution:
- "to image Available": when the new image entered Available (read from the emulator's own
  lifecycle record, exact). The seed never waits for it: its flow ends before, so its figure is
  when the image it asked for became usable.
- "to checked image" (ours only): when our flow ended Succeeded: the new image's check Finished,
  its items read, the repair host deleted.

Cost: the repair host's instance-seconds, from its RunInstances to the DeleteInstance that
released it (the emulator's call log), for both flows on the same latency draws (cost_benchmark).
"""
import statistics
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

from image_repair.control.clients.ecs import EcsPort
from image_repair.control.flow import FlowRunner, load_definition_file
from image_repair.control.local_run import CloudClock, run_execution
from image_repair.control.steps.common import Ports
from image_repair.control.steps.start import record_execution
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs

from . import cloud
from .seed_functions import seed_handlers

REFERENCE = Path(__file__).resolve().parents[1] / "state_machine" / "reference" / "acs_ecs_repair_image.yaml"


def load_reference_flow():
    return load_definition_file(str(REFERENCE), functions=set(seed_handlers(None, "").keys()))


def _calls(backend) -> dict:
    counts = {}
    for call in backend.calls:
        counts[call.action] = counts.get(call.action, 0) + 1
    return dict(sorted(counts.items()))


def _image_times(backend, image_id: Optional[str], start: float) -> dict:
    """When the image entered Available and its check Finished (settled far ahead of the flow)."""
    if not image_id or image_id not in backend.images:
        return {"available": None, "checked": None}
    backend.advance(3600)
    image = backend.images[image_id]
    return {"available": image.progress.since - start if image.status == "Available" else None,
            "checked": image.check.since - start if image.check.status == "Finished" else None}


def host_seconds(backend) -> Optional[float]:
    """The repair host's instance-seconds: from its RunInstances to the DeleteInstance that released
    it (virtual seconds, the emulator's call log); None unless exactly one host was launched and
    deleted."""
    launches = [c.time for c in backend.calls if c.action == "RunInstances" and not c.error_code]
    deletes = {}
    for call in backend.calls:
        if call.action == "DeleteInstance" and not call.error_code:
            deletes.setdefault(call.params.get("InstanceId"), call.time)
    if len(launches) != 1 or len(deletes) != 1:
        return None
    return next(iter(deletes.values())) - launches[0]


def kept_disk_seconds(backend) -> Optional[float]:
    """Ours only: how long the repaired disk lived on after its host (DeleteInstance to DeleteDisk)."""
    deleted = [c.time for c in backend.calls if c.action == "DeleteInstance" and not c.error_code]
    disks = [c.time for c in backend.calls if c.action == "DeleteDisk" and not c.error_code]
    return disks[0] - deleted[0] if deleted and disks else None


def _scenario(latency: str, draw: Optional[Tuple]) -> Tuple:
    """(latency model, repair seconds): a named scenario's, or a draw's (cloud.drawn)."""
    return draw if draw is not None else (cloud.latency_model(latency), cloud.repair_seconds(latency))


def run_seed(latency: str = "realistic", draw: Optional[Tuple] = None) -> dict:
    model, repair_s = _scenario(latency, draw)
    host = cloud.RepairHost(repair_s)
    with mock_ecs(cloud.seed(), latency=model) as backend:
        backend.command_handlers.append(host)
        clock = CloudClock(backend)
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
                "disk0_is_data_disk": final.get("disk0IsDataDisk"), "host_seconds": host_seconds(backend)}


def run_ours(latency: str = "realistic", engine: str = "agent", draw: Optional[Tuple] = None) -> dict:
    model, repair_s = _scenario(latency, draw)
    host = cloud.RepairHost(repair_s)
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp, \
            mock_ecs(cloud.seed(), latency=model) as backend:
        backend.command_handlers.append(host)
        clock = CloudClock(backend)
        store = SQLiteStore(str(Path(tmp) / "state.db"), clock=clock.now)
        try:
            ports = Ports(store=store, ecs=EcsPort(ecs_client(backend), backend.region), clock=clock.now,
                          agent_zipapp=_zipapp)
            execution, _, _ = record_execution(store, dict(cloud.PARAMS, repairItems="auto", engine=engine))
            start = clock.now()
            result = run_execution(ports, execution.execution_id, clock=clock)
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
                "step_seconds": report.get("stepSeconds"), "host_seconds": host_seconds(backend),
                "kept_disk_seconds": kept_disk_seconds(backend)}


_ZIPAPP = None


def _zipapp() -> bytes:
    global _ZIPAPP
    if _ZIPAPP is None:
        from image_repair.control.agent_build import build_zipapp
        _ZIPAPP = build_zipapp()
    return _ZIPAPP


def benchmark(latency: str = "realistic") -> dict:
    """Both runs, the ratio and our overhead above the unavoidable cloud work."""
    seed, ours = run_seed(latency), run_ours(latency)
    floor = cloud.unavoidable_seconds(latency)
    to_available = floor["repair host boot"] + floor["repair itself"] + floor["snapshot"] + floor["image creation"]
    to_checked = to_available + floor["image check"]
    out = {"latency_model": latency, "seed": seed, "ours": ours, "unavoidable_s": floor,
           "unavoidable_to_available_s": to_available, "unavoidable_to_checked_s": to_checked}
    if seed["to_image_available_s"] and ours["to_image_available_s"]:
        out["ratio_to_available"] = ours["to_image_available_s"] / seed["to_image_available_s"]
        out["overhead_to_available"] = ours["to_image_available_s"] / to_available - 1
        out["overhead_to_checked"] = ours["to_checked_image_s"] / to_checked - 1
    return out


def _percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def cost_benchmark(draws: int = 20, seed: int = 12) -> dict:
    """The repair host's instance-seconds per repaired image, ours and the seed's, side by side on
    ``draws`` seeded latency draws (cloud.drawn: each draw fed to both flows)."""
    rows = []
    for index in range(draws):
        draw = cloud.drawn(index, seed)
        seed_run, ours_run = run_seed(draw=draw), run_ours(draw=draw)
        if seed_run["status"] != "Succeeded" or ours_run["status"] != "Succeeded" or \
                not seed_run["host_seconds"] or ours_run["host_seconds"] is None:
            raise RuntimeError("draw %d: seed %s, ours %s" % (index, seed_run["status"], ours_run["status"]))
        rows.append({"seed_host_s": seed_run["host_seconds"], "ours_host_s": ours_run["host_seconds"],
                     "ratio": ours_run["host_seconds"] / seed_run["host_seconds"],
                     "ours_kept_disk_s": ours_run["kept_disk_seconds"],
                     "ours_to_available_s": ours_run["to_image_available_s"],
                     "seed_to_available_s": seed_run["to_image_available_s"]})
    ratios = [r["ratio"] for r in rows]
    return {"draws": draws, "seed": seed, "jitter": cloud.DRAW_JITTER, "per_draw": rows,
            "seed_host_s_mean": statistics.mean(r["seed_host_s"] for r in rows),
            "ours_host_s_mean": statistics.mean(r["ours_host_s"] for r in rows),
            "ratio_mean": statistics.mean(ratios), "ratio_p10": _percentile(ratios, 0.1),
            "ratio_p90": _percentile(ratios, 0.9),
            "ours_kept_disk_s_mean": statistics.mean(r["ours_kept_disk_s"] or 0.0 for r in rows)}
