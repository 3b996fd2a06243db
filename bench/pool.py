"""Benchmark 7 (issue 13): many images through the warm pool of repair hosts, against the seed
template running one repair host per image, on the emulator's virtual clock (bench/cloud.py's
latency model and repair host; flows side by side on local_run.ConcurrentCloudClock).

- *10 images, host instance-seconds per image*: every repair host's life, RunInstances to its
  DeleteInstance. The seed deletes each host in its flow. A pool host is deleted by the pool's
  janitor once idle for ``IDLE_RELEASE_S`` after its last slot came back: charged up to then (the
  janitor's run is assumed at that moment; a sweep runs it every few minutes: later, not sooner).
  Ours on a *warm* pool: the batch starts on hosts a previous batch left ready (that batch ran
  first, on the same cloud), so their boot is not this batch's; the idle tail is.
- *10 images, wall clock until all 10 Available*: from the batch's start to the last new image's
  Available, both sides started at once (the seed: 10 executions in parallel).
- *one image on a warm pool, to Available*, over the seeded draws: per draw, one pooled repair
  warms a host, then the measured one runs on it; the seed's single run on the same draw.
- *100 images under flow control*: every ECS action throttled at the emulator's declared default
  (emulator/ratelimit.py: ECS publishes no per-API rate): how many repaired, how many ended on a
  throttling error, what was left (tagged resources, leases, disks).

The pool is sized as a fleet of the seed's own instance type (ecs.g7.large, 2 vCPUs: 2 slots a
host) so that instance-seconds compare like for like.
"""
import copy
import tempfile
from pathlib import Path
from typing import List

from image_repair.control.clients.ecs import EcsPort
from image_repair.control.flow import FlowRunner
from image_repair.control.local_run import ConcurrentCloudClock, load_repair_flow
from image_repair.control.models import flow_input
from image_repair.control.pool.models import PoolSettings
from image_repair.control.policy import TAG_EXECUTION
from image_repair.control.steps.common import Ports
from image_repair.control.steps.runner import bound_handlers
from image_repair.control.steps.start import record_execution
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs

from . import cloud
from .seed_functions import seed_handlers
from .workflow import _zipapp, load_reference_flow, summary

# How long an idle pool host is kept: as long as a new one takes to launch and become ready
# (boot ~30 s, Cloud Assistant, the agent's first delivery: about a minute), the rent-or-buy
# break-even: idling longer than that costs more than launching again would.
IDLE_RELEASE_S = 60.0
POOL = PoolSettings(max_hosts=5, idle_release_s=IDLE_RELEASE_S)   # 10 slots: a batch of 10 at once


def images(count: int, prefix: str = "m-bp1benchpool") -> List[dict]:
    """``count`` copies of the bench image, each with its own id and system snapshot."""
    out = []
    for n in range(count):
        image = copy.deepcopy(cloud.BENCH_IMAGE)
        image["id"] = "%s%05d" % (prefix, n)
        image["name"] = "%s-%05d" % (image["name"], n)     # names differ: the seed names its image after it
        image["disks"][0]["snapshot_id"] = "s-bp1benchpoolsys%05d" % n
        out.append(image)
    return out


def seeded(extra: List[dict], rate_limits=None) -> dict:
    data = cloud.seed()
    data["images"].extend(copy.deepcopy(extra))
    if rate_limits:
        data["rate_limits"] = list(rate_limits)
    return data


def available_times(backend, image_ids, start: float) -> List[float]:
    """When each new image entered Available, from ``start`` (settled far ahead of the flows)."""
    backend.advance(3600)
    return [backend.images[i].progress.since - start if i and i in backend.images
            and backend.images[i].status == "Available" else None for i in image_ids]


def record_launches(backend) -> dict:
    """instance id -> its creation time, for every instance the emulator makes from now on (its
    record goes when the instance is deleted; the id generator sees every one)."""
    launched, original = {}, backend.new_id

    def new_id(prefix):
        value = original(prefix)
        if prefix == "i-":
            launched[value] = backend.clock.now()
        return value
    backend.new_id = new_id
    return launched


def host_lives(backend, launched: dict, end: float, idle_tail: dict) -> dict:
    """instance id -> seconds from its creation to its DeleteInstance, else to ``idle_tail``'s
    release time for it (a pool host), else ``end``."""
    deleted = {c.params.get("InstanceId"): c.time for c in backend.calls
               if c.action == "DeleteInstance" and not c.error_code}
    return {i: deleted.get(i, idle_tail.get(i, end)) - t for i, t in launched.items()}


class PoolRun:
    """One emulated cloud with a store, on which pooled batches run one after another."""

    def __init__(self, tmp: str, scenario, extra_images: List[dict], rate_limits=None):
        self.scenario = cloud.scenario(scenario)
        self.host = cloud.RepairHost(self.scenario.repair_seconds)
        self.mock = mock_ecs(seeded(extra_images, rate_limits), latency=self.scenario.model)
        self.backend = self.mock.__enter__()
        self.backend.command_handlers.append(self.host)
        self.launched = record_launches(self.backend)
        self.store = SQLiteStore(str(Path(tmp) / "state.db"), clock=self.backend.clock.now)
        self.ports = Ports(store=self.store, ecs=EcsPort(ecs_client(self.backend), self.backend.region),
                           clock=self.backend.clock.now, agent_zipapp=_zipapp, pool=POOL)

    def close(self):
        self.store.close()
        self.mock.__exit__(None, None, None)

    def batch(self, image_ids: List[str]) -> dict:
        ids = [record_execution(self.store, dict(cloud.PARAMS, repairImageId=i, repairItems="auto", pool=True))[0]
               .execution_id for i in image_ids]
        clock = ConcurrentCloudClock(self.backend)
        definition = load_repair_flow()
        start = clock.now()

        def flow(execution_id):
            runner = FlowRunner(definition, bound_handlers(self.ports), clock=clock, region=self.backend.region)
            return lambda: runner.run(flow_input(execution_id), name=execution_id)
        results = clock.run([flow(execution_id) for execution_id in ids])
        executions = [self.store.get_execution(i) for i in ids]
        return {"start": start, "end": clock.now(), "results": results, "executions": executions,
                "new_images": [(e.report or {}).get("newImageId") for e in executions]}

    def idle_tail(self) -> dict:
        """Each pool host's release time: its last slot back, plus the idle time."""
        last_free = {}
        for execution in self.store.list_executions():
            placed = execution.steps.get("wait_until_ready")
            freed = execution.steps.get("release_repair_host.slot")
            if placed is not None and freed is not None and (placed.result or {}).get("pooled"):
                instance = placed.result["instanceId"]
                last_free[instance] = max(last_free.get(instance, 0.0), freed.finished_at_ms / 1000.0)
        return {i: t + IDLE_RELEASE_S for i, t in last_free.items()}


def seed_parallel(scenario, count: int) -> dict:
    """``count`` seed executions at once on one emulator (the seed template launched per image)."""
    scen = cloud.scenario(scenario)
    extra = images(count)
    with mock_ecs(seeded(extra), latency=scen.model) as backend:
        backend.command_handlers.append(cloud.RepairHost(scen.repair_seconds))
        launched = record_launches(backend)
        clock = ConcurrentCloudClock(backend)
        definition = load_reference_flow()
        start = clock.now()

        def flow(image_id):
            runner = FlowRunner(definition, seed_handlers(ecs_client(backend), backend.region), clock=clock,
                                region=backend.region)
            ctx = dict(cloud.PARAMS, repairImageId=image_id, repairItems=list(cloud.SEED_ITEMS))
            return lambda: runner.run({"ctx": ctx, "attempt": 0}, name="seed-" + image_id)
        results = clock.run([flow(i["id"]) for i in extra])
        end = clock.now()
        new = [((r.output or {}).get("ctx") or {}).get("imageId") for r in results]
        lives = host_lives(backend, launched, end, {})
        times = available_times(backend, new, start)
        return {"succeeded": sum(r.status == "Succeeded" for r in results), "host_seconds": sum(lives.values()),
                "hosts": len(lives), "all_available_s": max(t for t in times if t is not None) if all(times) else None}


def pool_batch_of_ten(scenario="realistic", count: int = 10) -> dict:
    """A cold batch warms the pool, then the measured batch of ``count`` runs on it."""
    warm, measured = images(count, "m-bp1benchwarm"), images(count)
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        run = PoolRun(tmp, scenario, warm + measured)
        try:
            run.batch([i["id"] for i in warm])
            calls_before = len(run.backend.calls)
            batch = run.batch([i["id"] for i in measured])
            tails = run.idle_tail()
            lives = host_lives(run.backend, run.launched, batch["end"], tails)
            # the measured batch's share: each host from the batch's start (warm) to its release
            share = sum(min(life, tails.get(i, batch["end"]) - batch["start"]) for i, life in lives.items())
            busy = share - IDLE_RELEASE_S * len(tails)
            times = available_times(run.backend, batch["new_images"], batch["start"])
            return {"succeeded": sum(e.status.value == "SUCCEEDED" for e in batch["executions"]),
                    "host_seconds": share, "busy_host_seconds": busy, "hosts": len(lives),
                    "launched_in_batch": sum(1 for c in run.backend.calls[calls_before:]
                                             if c.action == "RunInstances" and not c.error_code),
                    "all_available_s": max(t for t in times if t is not None) if all(times) else None}
        finally:
            run.close()


def one_on_a_warm_pool(scenario) -> dict:
    """One pooled repair warms a host, the next (measured) runs on it: to its image Available."""
    warm, measured = images(1, "m-bp1benchwarm"), images(1)
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        run = PoolRun(tmp, scenario, warm + measured)
        try:
            run.batch([warm[0]["id"]])
            batch = run.batch([measured[0]["id"]])
            (time,) = available_times(run.backend, batch["new_images"], batch["start"])
            return {"status": batch["results"][0].status, "to_image_available_s": time}
        finally:
            run.close()


def hundred_under_flow_control(count: int = 100) -> dict:
    extra = images(count)
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        run = PoolRun(tmp, "realistic", extra, rate_limits=["default"])
        try:
            batch = run.batch([i["id"] for i in extra])
            executions = batch["executions"]
            throttled_ends = [e for e in executions if e.error and "Throttl" in str(e.error.get("code", "")) +
                              str(e.error.get("detail", ""))]
            new_images = set(batch["new_images"])
            keep = set()
            for image_id in new_images:
                if image_id in run.backend.images:
                    keep.update(m.snapshot_id for m in run.backend.images[image_id].mappings)
            leaks = [r for e in executions for r in run.backend.resources_by_tag(TAG_EXECUTION, e.execution_id)
                     if not (r[0] == "image" and r[1] in new_images) and not (r[0] == "snapshot" and r[1] in keep)]
            return {"images": count, "repaired": sum(e.status.value == "SUCCEEDED" for e in executions),
                    "throttling_failures": len(throttled_ends), "leaks": len(leaks) + len(run.store.list_slot_leases()),
                    "throttled_calls": sum(1 for c in run.backend.calls if c.error_code == "Throttling.User"),
                    "virtual_s": batch["end"] - batch["start"]}
        finally:
            run.close()


def run_all(draws: int = 100, progress=None) -> dict:
    """What ``python -m bench --only pool`` runs."""
    ten_ours, ten_seed = pool_batch_of_ten(), seed_parallel("realistic", 10)
    from .workflow import run_seed
    ratios = []
    for index, scen in enumerate(cloud.drawn_scenarios(draws)):
        ours, seed = one_on_a_warm_pool(scen), run_seed(scen)
        if ours["to_image_available_s"] and seed["to_image_available_s"]:
            ratios.append(ours["to_image_available_s"] / seed["to_image_available_s"])
        if progress and (index + 1) % 10 == 0:
            print("bench: pool draw %d/%d" % (index + 1, draws), file=progress, flush=True)
    return {"ten": {"ours": ten_ours, "seed": ten_seed,
                    "ratio_host_seconds_per_image": (ten_ours["host_seconds"] / 10) / (ten_seed["host_seconds"] / 10),
                    "ratio_all_available": ten_ours["all_available_s"] / ten_seed["all_available_s"]},
            "one_warm": {"draws": draws, "ratio_to_available": summary(ratios) if ratios else None},
            "hundred": hundred_under_flow_control()}


def rows(result: dict) -> list:
    """Benchmark 7's rows (bench/report.py's shape), with issue 13's goals."""
    from .report import row
    ten, one, hundred = result["ten"], result["one_warm"], result["hundred"]
    out = [row("7 pool: 10 images on a warm pool, host instance-seconds per image (seed: a host each)",
               ten["ours"]["host_seconds"] / 10, ten["seed"]["host_seconds"] / 10, ten["ratio_host_seconds_per_image"],
               "<= 0.2 x", ten["ratio_host_seconds_per_image"] <= 0.2, "s",
               "idle tail %d s per host included (without it %.3f x); %d hosts of 2 slots" % (
                   IDLE_RELEASE_S, ten["ours"]["busy_host_seconds"] / ten["seed"]["host_seconds"], ten["ours"]["hosts"])),
           row("7 pool: 10 images, wall clock until all 10 Available (seed: 10 in parallel)",
               ten["ours"]["all_available_s"], ten["seed"]["all_available_s"], ten["ratio_all_available"],
               "<= 0.6 x", ten["ratio_all_available"] <= 0.6, "s")]
    if one["ratio_to_available"]:
        figure = one["ratio_to_available"]
        out.append(row("7 pool: one image on a warm pool, to Available (mean over %d draws)" % one["draws"],
                       None, None, figure["mean"], "<= 0.6 x", figure["mean"] <= 0.6, "",
                       "p10 %.3f, p90 %.3f" % (figure["p10"], figure["p90"])))
    clean = hundred["repaired"] == hundred["images"] and not hundred["throttling_failures"] and not hundred["leaks"]
    out.append(row("7 pool: %d images under API flow control: repaired / throttling failures / leaks" % hundred["images"],
                   "%d / %d / %d" % (hundred["repaired"], hundred["throttling_failures"], hundred["leaks"]),
                   "%d / 0 / 0" % hundred["images"], None, "all, 0, 0", clean, "",
                   "%d calls throttled on the way" % hundred["throttled_calls"]))
    return out
