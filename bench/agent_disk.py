"""Benchmark 4: the agent on a real Debian disk image against the bare regeneration work the same
repair needs. The image is the demo's (src/image_repair_lab/demo.py: Debian 12, BIOS, ext4, broken
the way VMware imports are), built once and cached by image_repair_lab.testimages. In the same run,
each on a fresh sparse copy, each a fresh interpreter, timed around the whole process:

- ours: ``image-repair repair-disk COPY --items <the offline items> --report ...``;
- bare: ``python -m bench.bare_regen COPY``: the agent's own disk layer mounts it the same way,
  then one initramfs rebuild per kernel and one grub-mkconfig in the chroot (bench/bare_regen.py).

The offline items are every item that installs no package (fstab, grub, virtio, nvme, dhcp,
selinux): cloud-init, growpart, assist and aegis download packages, which is network time the
bare regeneration does not have (the issue asks for "a full repair of the offline items").
Needs root (loop devices, mounts)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]


def offline_items() -> List[str]:
    from image_repair.agent.items import ITEM_NAMES, load_item
    return [name for name in ITEM_NAMES if not load_item(name).installs_packages]


def demo_image() -> Path:
    from image_repair_lab.demo import DEMO_BREAKAGES, DEMO_RECIPE
    from image_repair_lab.testimages import broken_image
    return broken_image(DEMO_RECIPE, DEMO_BREAKAGES).path


def demo_image_if_cached() -> Optional[Path]:
    """The demo image if it is already in the cache (building one takes minutes)."""
    from image_repair_lab.demo import DEMO_BREAKAGES, DEMO_RECIPE
    from image_repair_lab.testimages import cache
    from image_repair_lab.testimages.builder import manifest_path
    name = "%s-%s-%s.img" % (DEMO_RECIPE.name, DEMO_RECIPE.key(), "+".join(DEMO_BREAKAGES))
    image = cache.cache_dir() / "images" / name
    return image if image.exists() and manifest_path(image).exists() else None


def _timed(argv: List[str]) -> tuple:
    started = time.perf_counter()
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         cwd=str(REPO), timeout=3600)
    return time.perf_counter() - started, out


def run_ours(copy: Path, items: List[str], report: Path) -> dict:
    seconds, out = _timed([sys.executable, "-m", "image_repair", "repair-disk", str(copy),
                           "--items", ",".join(items), "--report", str(report)])
    if out.returncode != 0:
        raise RuntimeError("repair-disk failed (%d): %s" % (out.returncode, out.stderr[-3000:]))
    body = json.loads(report.read_text())
    commands = [c for item in body.get("items", []) for c in (item.get("changes") or {}).get("commands", [])]
    return {"seconds": seconds, "statuses": {i["name"]: i["status"] for i in body.get("items", [])},
            "commands": commands}


def run_bare(copy: Path) -> dict:
    seconds, out = _timed([sys.executable, "-m", "bench.bare_regen", str(copy)])
    if out.returncode != 0:
        raise RuntimeError("bare regeneration failed (%d): %s" % (out.returncode, out.stderr[-3000:]))
    ran = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "inner_seconds": ran["seconds"], "commands": ran["commands"]}


def benchmark(repeats: int = 1, image: Optional[Path] = None, work: Optional[str] = None) -> dict:
    """Alternating bare and ours ``repeats`` times; medians."""
    from image_repair_lab.testimages import copy_image
    if os.geteuid() != 0:
        raise RuntimeError("benchmark 4 needs root (loop devices and mounts)")
    image = Path(image) if image else demo_image()
    items = offline_items()
    ours_runs, bare_runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-agent-", dir=work or "/var/tmp") as tmp:
        for n in range(repeats):
            bare_copy = copy_image(image, Path(tmp) / ("bare-%d.img" % n))
            bare_runs.append(run_bare(bare_copy))
            bare_copy.unlink()
            ours_copy = copy_image(image, Path(tmp) / ("ours-%d.img" % n))
            ours_runs.append(run_ours(ours_copy, items, Path(tmp) / ("report-%d.json" % n)))
            ours_copy.unlink()
    ours = statistics.median(r["seconds"] for r in ours_runs)
    bare = statistics.median(r["seconds"] for r in bare_runs)
    return {"image": str(image), "items": items, "repeats": repeats, "ours_s": ours, "bare_s": bare,
            "ratio": ours / bare, "ours_runs": ours_runs, "bare_runs": bare_runs}
