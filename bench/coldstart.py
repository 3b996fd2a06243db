"""Benchmark 3: Function Compute cold start. Each measurement is a fresh interpreter (a
subprocess), so nothing is cached; repeated, the median kept. Measured inside the child, from
before the first import to after the last: CPU time (process_time: importing is CPU-bound once
the files are in the page cache, and CPU time does not count the waits for a core that other
processes on a shared machine cause: the goal is judged on it), wall time, and peak memory
(VmHWM, the resident high-water mark: the whole process, interpreter included, what the
function's memory limit sees).

- bare: ``import alibabacloud_ecs20140526.client`` (the SDK every handler needs anyway);
- alone: ``import image_repair.handlers.<x>``;
- first event: the handler, then everything its first event loads without touching the network:
  the ports built from a Function Compute-like environment (ECS client, the Tablestore store the
  deployment uses, with a dummy endpoint: OTSClient connects lazily), the step module, the SDK's
  request models and the flow event's pydantic model.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

HANDLERS_DIR = Path(__file__).resolve().parents[1] / "src" / "image_repair" / "handlers"
NOT_FC_HANDLERS = {"__init__", "fc", "local"}     # shared helpers and the local runner
MEMORY_LIMIT_MB = 128

CHILD = r'''
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
kind, module = sys.argv[1], sys.argv[2]
if kind == "bare":
    import alibabacloud_ecs20140526.client
else:
    import importlib
    handler = importlib.import_module(module)
    if kind.startswith("first_event"):
        from image_repair.handlers.fc import ports_from_env
        ports = ports_from_env()
        try:                                    # handlers/<x>.py serves steps/<x>.py
            importlib.import_module("image_repair.steps." + module.rsplit(".", 1)[1])
        except ModuleNotFoundError:
            pass
        from alibabacloud_ecs20140526 import models
        from darabonba.runtime import RuntimeOptions
        from image_repair.models import FlowEvent
        FlowEvent.model_validate({"executionId": "repair-m-bench-000000000000"})
t1 = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across execve, so a
# child of a big parent would report the parent's size; VmHWM belongs to this program's own memory.
with open("/proc/self/status") as status:
    hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": t1 - t0, "cpu_seconds": time.process_time() - c0, "maxrss_mb": hwm_kb / 1024.0,
                  "modules": len(sys.modules)}))
'''


def handler_modules() -> List[str]:
    return sorted("image_repair.handlers." + p.stem for p in HANDLERS_DIR.glob("*.py") if p.stem not in NOT_FC_HANDLERS)


def fc_like_env(tmp: str, store: str = "tablestore") -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"FC_REGION": "cn-hangzhou", "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIbenchcoldstart01",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "benchcoldstartsecret000000000001",
                "IMAGE_REPAIR_STORE": "tablestore://bench-instance/image_repair",
                "TABLESTORE_ENDPOINT": "https://bench-instance.cn-hangzhou.vpc.tablestore.aliyuncs.com",
                "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1"})
    if store == "sqlite":
        env["IMAGE_REPAIR_STORE"] = "sqlite://" + os.path.join(tmp, "state.db")
    return env


def measure(kind: str, module: str, env: Dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, module], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("cold start of %s (%s) failed: %s" % (module, kind, out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: List[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


KINDS = ("alone", "first_event", "first_event_sqlite")


def benchmark(repeats: int = 5, modules: List[str] = None) -> dict:
    """Per handler: alone, first event with the deployed Tablestore store, and first event with
    the embedded SQLite store (to tell the Tablestore SDK's share from ours). Interleaved: each
    round measures the bare import, then every handler every way, so load from other processes
    on the machine falls on all alike; medians over the rounds."""
    modules = modules or handler_modules()
    bare_runs: List[dict] = []
    runs: Dict[str, Dict[str, List[dict]]] = {m: {k: [] for k in KINDS} for m in modules}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        envs = {"alone": fc_like_env(tmp), "first_event": fc_like_env(tmp),
                "first_event_sqlite": fc_like_env(tmp, "sqlite")}
        for _ in range(repeats):
            bare_runs.append(measure("bare", "alibabacloud_ecs20140526.client", envs["alone"]))
            for module in modules:
                for kind in KINDS:
                    runs[module][kind].append(measure(kind, module, envs[kind]))
    bare = _median(bare_runs)
    rows = {m: {k: _median(runs[m][k]) for k in KINDS} for m in modules}
    out = {"repeats": repeats, "bare": bare, "handlers": rows, "memory_limit_mb": MEMORY_LIMIT_MB}
    for kind in KINDS:
        worst = max(rows, key=lambda m: rows[m][kind]["cpu_seconds"])
        out[kind] = {"worst_handler": worst, "cpu_seconds": rows[worst][kind]["cpu_seconds"],
                     "seconds": rows[worst][kind]["seconds"],
                     "ratio_to_bare": rows[worst][kind]["cpu_seconds"] / bare["cpu_seconds"],
                     "wall_ratio_to_bare": rows[worst][kind]["seconds"] / bare["seconds"],
                     "maxrss_mb": max(rows[m][kind]["maxrss_mb"] for m in rows)}
    return out
