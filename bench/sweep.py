"""Benchmark 5: the scheduled sweep (triggers/sweep.py) over an account of 10,000 generated images
(emulator/seed.py many_images: ~10 % at risk, ~10 % look-alikes it must skip, the rest healthy),
with the real SDK against the in-process emulator, a SQLite store and a launcher that records
(the repairs themselves are benchmark 1).

- API calls: every ECS call the sweep made (the emulator's call log), against the minimum: one
  DescribeImages page of 100 (the API's largest) per image the sweep must look at, i.e. the
  account's own Linux images that are Available (ceil(N / 100)), counted from the emulator's
  state, not from the sweep.
- Wall time: around ``sweep()``, in one process; it includes the emulator answering (building
  and serialising 100 pages of 100 images), which a real account's API does elsewhere.
"""
import math
import tempfile
import time
from pathlib import Path

from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.seed import many_images, seed_with_images
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs

from .cloud import PARAMS

IMAGES = 10_000
PAGE_SIZE = 100


class RecordingLauncher:
    """Launches nothing, remembers what it was asked to launch."""
    idempotent = True

    def __init__(self):
        self.launched = []

    def launch(self, execution_id: str) -> bool:
        self.launched.append(execution_id)
        return True


def minimum_calls(backend) -> int:
    """One page of 100 per own, Linux, Available image: what any sweep must read."""
    seen = [i for i in backend.images.values()
            if i.owner == "self" and i.os_type == "linux" and i.status == "Available"]
    return math.ceil(len(seen) / PAGE_SIZE)


def benchmark(images: int = IMAGES) -> dict:
    from image_repair.control.triggers.sweep import sweep
    defaults = {k: PARAMS[k] for k in ("zoneId", "instanceType", "securityGroupId", "vSwitchId")}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp, \
            mock_ecs(seed_with_images(many_images(images))) as backend:
        store = SQLiteStore(str(Path(tmp) / "state.db"))
        try:
            ecs = EcsPort(ecs_client(backend), backend.region)
            launcher = RecordingLauncher()
            before = len(backend.calls)
            started = time.perf_counter()
            report = sweep(ecs, store, launcher, defaults=defaults)
            seconds = time.perf_counter() - started
        finally:
            store.close()
        calls = backend.calls[before:]
        by_action = {}
        for call in calls:
            by_action[call.action] = by_action.get(call.action, 0) + 1
        minimum = minimum_calls(backend)
        return {"images": images, "calls": len(calls), "calls_by_action": by_action, "minimum_calls": minimum,
                "calls_ratio": len(calls) / minimum, "seconds": seconds, "pages": report.pages,
                "images_seen": report.imagesSeen, "need_repair": len(report.needRepair),
                "started": len(launcher.launched), "skipped_counts": report.skippedCounts}
