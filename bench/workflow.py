"""Benchmarks 1 and 2: the workflow's critical path and its API calls, ours against the seed
template's (replicated as state_machine/reference/acs_ecs_repair_image.yaml), each on a fresh
emulator with the same latency model, on the emulator's virtual clock (a flow's Wait moves it).

Time points, in virtual seconds from the start of the execution:
- "to image Available": when the new image entered Available (read from the emulator's own
  lifecycle record, exact). The seed never waits for it: its flow ends before, so its figure is
  when the image it asked for became usable.
- "to checked image" (ours only): when our flow ended Succeeded: the new image's check Finished,
  its items read, the repair host deleted.
"""
import tempfile
from pathlib import Path
from typing import Optional

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


def run_seed(latency: str = "realistic") -> dict:
    host = cloud.RepairHost(cloud.repair_seconds(latency))
    with mock_ecs(cloud.seed(), latency=cloud.latency_model(latency)) as backend:
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
                "disk0_is_data_disk": final.get("disk0IsDataDisk")}


def run_ours(latency: str = "realistic", engine: str = "agent") -> dict:
    host = cloud.RepairHost(cloud.repair_seconds(latency))
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp, \
            mock_ecs(cloud.seed(), latency=cloud.latency_model(latency)) as backend:
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
                "step_seconds": report.get("stepSeconds")}


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
