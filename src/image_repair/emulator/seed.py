"""Seeding the emulated account: keys, region, network, images (with their disk mappings and
check results) and public commands, from a YAML or JSON file (docs/emulator.md) or the
built-in ``DEFAULT_SEED``."""
import functools
import json
import random
from typing import Optional

from ..agent.items.checknames import SPELLINGS
from .backend import EcsBackend
from .clock import LatencyModel, Progress
from .resources import Account, CheckItem, Command, DiskMapping, Image, Network, Snapshot

DEFAULT_ACCESS_KEY_ID = "LTAIemulatorTestKey01"
DEFAULT_ACCESS_KEY_SECRET = "emulatorTestSecret0000000000001"

REPAIR_SCRIPT = """#!/bin/bash
# Stand-in for the unpublished public command ACS-ECS-ImageRepair-for-linux.sh
echo "repair items: {{repairitems}} on disk serial {{disk_serial}}"
"""

DEFAULT_SEED = {
    "region": "cn-hangzhou",
    "accounts": [{"access_key_id": DEFAULT_ACCESS_KEY_ID, "access_key_secret": DEFAULT_ACCESS_KEY_SECRET,
                  "account_id": "1234567890123456"}],
    "zones": ["cn-hangzhou-h", "cn-hangzhou-i"],
    "vswitches": [{"id": "vsw-bp1emulator00000000h", "zone": "cn-hangzhou-h", "vpc": "vpc-bp1emulator000000000"},
                  {"id": "vsw-bp1emulator00000000i", "zone": "cn-hangzhou-i", "vpc": "vpc-bp1emulator000000000"}],
    "security_groups": [{"id": "sg-bp1emulator0000000000", "vpc": "vpc-bp1emulator000000000"}],
    "instance_types": ["ecs.g7.large", "ecs.g8i.large", "ecs.c7.large", "ecs.g6r.large"],
    "images": [
        {"id": "aliyun_3_x64_20G_alibase_20250629.vhd", "name": "aliyun_3_x64_20G_alibase_20250629.vhd",
         "owner": "system", "platform": "Aliyun", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
         "architecture": "x86_64", "boot_mode": "UEFI-Preferred", "nvme_support": "supported",
         "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorbasesys0001"}],
         "detection": {"status": "Finished", "items": []}},
        {"id": "aliyun_3_arm64_20G_alibase_20250629.vhd", "name": "aliyun_3_arm64_20G_alibase_20250629.vhd",
         "owner": "system", "platform": "Aliyun", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit ARM",
         "architecture": "arm64", "boot_mode": "UEFI", "nvme_support": "supported",
         "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorbasearm0001"}],
         "detection": {"status": "Finished", "items": []}},
        {"id": "m-bp1emulatorbrokenimg01", "name": "imported-centos7", "owner": "self",
         "platform": "CentOS", "os_name": "CentOS 7.9 64 bit", "architecture": "x86_64",
         "boot_mode": "BIOS", "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorbroken0001"},
                                        {"type": "data", "size": 40, "snapshot_id": "s-bp1emulatorbrokendata1"}],
         "detection": {"status": "Finished", "items": [
             {"name": "GUESTOS.Virtio", "value": "UnSupported", "risk_level": "High", "risk_code": "Virtio.NotInstalled"},
             {"name": "GUESTOS.Nvme", "value": "UnSupported", "risk_level": "High", "risk_code": "NVMe.NotInstallded"},
             {"name": "GUESTOS.Fstab", "value": "Invalid", "risk_level": "High", "risk_code": "Fstab.InvalidDevice"},
             {"name": "GUESTOS.CloudInit", "value": "UnSupported", "risk_level": "Medium", "risk_code": "CloudInit.NotInstalled"},
             {"name": "SystemImage", "value": "Supported"},
             {"name": "Platform", "value": "CentOS"}]}},
    ],
    "commands": [
        {"name": "ACS-ECS-ImageRepair-for-linux.sh", "public": True, "type": "RunShellScript",
         "content": REPAIR_SCRIPT, "parameters": ["repairitems", "disk_serial"], "timeout": 3600,
         "exit_code": 0, "output": "repair finished\n", "seconds": 120},
    ],
}


def load_seed_file(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith(".json"):
        return json.loads(text)
    import yaml  # lazy: PyYAML, needed only for a YAML seed (a JSON seed, the served default, never loads it)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("%s: a seed is a mapping (see docs/emulator.md)" % path)
    return data


def build_backend(seed: Optional[dict] = None, latency: Optional[LatencyModel] = None) -> EcsBackend:
    """A backend seeded with ``seed`` (default DEFAULT_SEED); its ``reset()`` applies it again."""
    seed = DEFAULT_SEED if seed is None else seed
    backend = EcsBackend(region=seed.get("region", "cn-hangzhou"), latency=latency)
    apply_seed(backend, seed)
    # What reset() restores: given to the backend here, so that backend.py imports nothing from
    # this module (seed -> backend, never back).
    backend.seed_data = seed
    backend.reseed = functools.partial(apply_seed, seed=seed)
    return backend


def apply_seed(backend: EcsBackend, seed: dict) -> None:
    unknown = set(seed) - {"region", "accounts", "zones", "vswitches", "security_groups",
                           "instance_types", "disk_quantity", "rate_limits", "images", "commands",
                           "check_item_names"}
    if unknown:
        raise ValueError("unknown seed keys: %s" % ", ".join(sorted(unknown)))
    # DescribeImages spells check item names "prefixed" (GUESTOS.Virtio, the user guide's; the
    # default) or "bare" (Virtio, the API metadata's example): agent/items/checknames.py
    spelling = seed.get("check_item_names", "prefixed")
    if spelling not in SPELLINGS:
        raise ValueError("check_item_names: %r (known: %s)" % (spelling, ", ".join(SPELLINGS)))
    backend.check_item_spelling = spelling
    for acc in seed.get("accounts", []):
        backend.accounts[acc["access_key_id"]] = Account(acc["access_key_id"], acc["access_key_secret"],
                                                         str(acc.get("account_id", "1234567890123456")))
    backend.network = Network(
        zones=list(seed.get("zones", [])),
        vswitches={v["id"]: {"zone": v["zone"], "vpc": v["vpc"]} for v in seed.get("vswitches", [])},
        security_groups={g["id"]: {"vpc": g.get("vpc", "")} for g in seed.get("security_groups", [])},
        instance_types=list(seed.get("instance_types", [])),
        disk_quantity={str(name): _positive_int(count, "disk_quantity.%s" % name)
                       for name, count in (seed.get("disk_quantity") or {}).items()})
    backend.rate_limits.configure(seed.get("rate_limits") or [])
    now = backend.clock.now()
    for spec in seed.get("images", []):
        mappings = []
        for index, disk in enumerate(spec.get("disks", [])):
            snapshot_id = disk.get("snapshot_id")
            mappings.append(DiskMapping(disk.get("type", "system"), int(disk["size"]), snapshot_id,
                                        disk.get("device", "/dev/xvd" + "abcdefghij"[index])))
            if snapshot_id and snapshot_id not in backend.snapshots:
                backend.snapshots[snapshot_id] = Snapshot(
                    id=snapshot_id, name="", disk_id=None,
                    disk_type="System" if disk.get("type", "system") == "system" else "Data",
                    size=int(disk["size"]), progress=Progress("accomplished", now), created=now,
                    backing_file=disk.get("file"),
                    data_gib=float(disk["data_gib"]) if disk.get("data_gib") is not None else None)
        detection = spec.get("detection") or {}
        items = [CheckItem(i["name"], i["value"], i.get("risk_level"), i.get("risk_code"))
                 for i in detection.get("items", [])]
        system = mappings[0] if mappings else DiskMapping("system", 20, None, "/dev/xvda")
        backend.images[spec["id"]] = Image(
            id=spec["id"], name=spec.get("name", spec["id"]), owner=spec.get("owner", "self"),
            platform=spec.get("platform", "Others Linux"), os_name=spec.get("os_name", ""),
            architecture=spec.get("architecture", "x86_64"), boot_mode=spec.get("boot_mode", "BIOS"),
            size=system.size, progress=Progress("Available", now), created=now, mappings=mappings,
            check=Progress(detection.get("status", ""), now), check_items=items,
            nvme_support=spec.get("nvme_support", "unsupported"),
            cloud_assistant=spec.get("cloud_assistant", True), tags=dict(spec.get("tags", {})),
            os_type=spec.get("os_type", "linux"), encrypted=bool(spec.get("encrypted", False)))
    for spec in seed.get("commands", []):
        command_id = spec["name"] if spec.get("public") else spec.get("id") or backend.new_id("c-")
        backend.commands[command_id] = Command(
            id=command_id, name=spec["name"], type=spec.get("type", "RunShellScript"),
            content=spec.get("content", ""), public=bool(spec.get("public")),
            parameter_names=list(spec.get("parameters", [])), enable_parameter=bool(spec.get("parameters")),
            timeout=int(spec.get("timeout", 60)), exit_code=int(spec.get("exit_code", 0)),
            output=spec.get("output", ""), seconds=spec.get("seconds"))


# --- many images: a large account for the sweep's tests and the bench ------------------------
# The kind of each generated image is in its name (``sweep-00042-at_risk``), so a test reads the
# expected selection off the names, independently of the sweep's own rules.
SWEEP_KINDS = ("at_risk", "healthy", "repaired", "checking", "medium_only", "windows", "encrypted",
               "no_system_disk", "product")
AT_RISK_ITEMS = [
    {"name": "GUESTOS.Virtio", "value": "UnSupported", "risk_level": "High", "risk_code": "Virtio.NotInstalled"},
    {"name": "GUESTOS.Fstab", "value": "Invalid", "risk_level": "High", "risk_code": "Fstab.InvalidDevice"}]
MEDIUM_ITEMS = [{"name": "GUESTOS.CloudInit", "value": "UnSupported", "risk_level": "Medium",
                 "risk_code": "CloudInit.NotInstalled"}]
INFO_ITEMS = [{"name": "SystemImage", "value": "Supported"}, {"name": "Platform", "value": "CentOS"}]


def many_images(n: int, at_risk_fraction: float = 0.1, other_fraction: float = 0.1, seed: int = 0,
                prefix: str = "sweep") -> list:
    """``n`` custom images (seed "images" entries) of an account, deterministic for ``seed``.

    About ``at_risk_fraction`` of them are Linux images whose check Finished with High risks on
    repairable items (virtio, fstab): exactly those a sweep with the default policy repairs
    (name ``<prefix>-NNNNN-at_risk``). About ``other_fraction`` are look-alikes it must skip, in
    equal shares (kinds in SWEEP_KINDS): ``repaired`` (at risk but tagged
    image-repair:repaired-by), ``checking`` (check still Processing), ``medium_only`` (only a Medium
    risk: selected only by a policy with Medium), ``windows``, ``encrypted``, ``no_system_disk``
    (SystemImage Invalid), ``product`` (a repair's own new image, tagged image-repair:execution).
    The rest are ``healthy`` (check Finished, nothing at risk). Snapshot ids are derived from the
    image ids; generating 10,000 takes a few tens of milliseconds."""
    rng = random.Random(seed)
    others = SWEEP_KINDS[2:]
    images = []
    for index in range(n):
        draw = rng.random()
        if draw < at_risk_fraction:
            kind = "at_risk"
        elif draw < at_risk_fraction + other_fraction:
            kind = others[index % len(others)]
        else:
            kind = "healthy"
        images.append(_generated_image(prefix, index, kind))
    return images


def _generated_image(prefix: str, index: int, kind: str) -> dict:
    image_id = "m-%s%015d" % ("bp1", index)
    items = {"healthy": INFO_ITEMS, "medium_only": MEDIUM_ITEMS + INFO_ITEMS,
             "no_system_disk": AT_RISK_ITEMS + [{"name": "SystemImage", "value": "Invalid"}]}.get(
                 kind, AT_RISK_ITEMS + INFO_ITEMS)
    spec = {"id": image_id, "name": "%s-%05d-%s" % (prefix, index, kind), "owner": "self",
            "platform": "CentOS", "os_name": "CentOS 7.9 64 bit", "architecture": "x86_64", "boot_mode": "BIOS",
            "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1%015d" % index}],
            "detection": {"status": "Processing" if kind == "checking" else "Finished", "items": items}}
    if kind == "repaired":
        spec["tags"] = {"image-repair:repaired-by": "repair-%s-earlier" % image_id}
    elif kind == "product":
        spec["tags"] = {"image-repair:execution": "repair-m-bp1earlier-000000000000",
                        "image-repair:source-image": "m-bp1earlier"}
    elif kind == "windows":
        spec.update(os_type="windows", platform="Windows Server 2019", os_name="Windows Server 2019")
    elif kind == "encrypted":
        spec["encrypted"] = True
    return spec


def seed_with_images(images: list, base: Optional[dict] = None) -> dict:
    """A whole seed (``base``, default DEFAULT_SEED, keeping its public images) plus ``images``."""
    base = DEFAULT_SEED if base is None else base
    seed = dict(base)
    seed["images"] = [i for i in base.get("images", []) if i.get("owner") != "self"] + list(images)
    return seed


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s: a whole number of at least 1, not %r" % (name, value))
    return value
