"""Step 9: create the repaired image: the new snapshot as its system disk plus the source image's
data-disk snapshots, Platform in CreateImage's names, the source's BootMode and Architecture,
``DetectionStrategy=Standard`` (so the new image gets its own check), a name
``repaired_<source name>_<UTC time>_<source id>`` and tags naming the source image and the execution."""
import re
import time

from ..models import FlowEvent, FlowState
from .common import Ports, client_token, done, load, once, result_of, skipped_in_dry_run, tags_for
from .check_source_image import STEP as CHECK
from .snapshot_repaired_disk import STEP as SNAPSHOT

STEP = "create_repaired_image"
# DescribeImages names -> CreateImage names (they differ for Red Hat; the rest pass through).
PLATFORMS = {"Red Hat": "RedHat", "RedHat": "RedHat", "Alibaba Cloud Linux": "Aliyun", "Aliyun": "Aliyun",
             "CentOS Stream": "CentOS Stream", "Rocky Linux": "Rocky Linux", "AlmaLinux": "AlmaLinux",
             "openSUSE": "OpenSUSE", "OpenSUSE": "OpenSUSE", "SUSE": "SUSE", "SLES": "SUSE"}
KNOWN = {"Aliyun", "Anolis", "CentOS", "Ubuntu", "SUSE", "Debian", "OpenSUSE", "RedHat", "Kylin", "UOS", "Fedora",
         "CentOS Stream", "AlmaLinux", "Rocky Linux", "Customized Linux", "Others Linux", "Gentoo", "CoreOS"}
BOOT_MODES = ("BIOS", "UEFI", "UEFI-Preferred")


def create_platform(platform: str) -> str:
    mapped = PLATFORMS.get(platform, platform)
    return mapped if mapped in KNOWN else "Others Linux"


def image_name(source_name: str, created_at_ms: int, source_image_id: str = "") -> str:
    """CreateImage's rule: 2-128 characters, starting with a letter, then letters, digits, ``:``,
    ``_`` and ``-`` (no ``.``: ``ubuntu_22.04`` becomes ``ubuntu_22_04``). The time is the
    execution's, stable across retries. The source's id ends it: image names are unique in a
    region (CreateImage ``InvalidImageName.Duplicated``), and a batch repairs images of one name
    (an import of many VMs from one template) in the same second."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(created_at_ms // 1000))
    suffix = "_" + re.sub(r"[^A-Za-z0-9_:-]", "_", source_image_id)[:32] if source_image_id else ""
    safe = re.sub(r"[^A-Za-z0-9_:-]", "_", source_name)[:100 - len(suffix)]
    return "repaired_%s_%s%s" % (safe, stamp, suffix)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if request.dryRun:
        return skipped_in_dry_run(ports, event, STEP, "no image")
    source, snapshot = result_of(execution, CHECK), result_of(execution, SNAPSHOT)

    def work() -> dict:
        mappings = [{"SnapshotId": snapshot["snapshotId"], "DiskType": "system", "Size": source["systemSize"]}]
        mappings += [{"SnapshotId": d["snapshotId"], "DiskType": "data", "Size": d["size"]}
                     for d in source["dataDisks"] if d.get("snapshotId")]
        boot_mode = source["bootMode"] if source["bootMode"] in BOOT_MODES else "BIOS"
        name = image_name(source["name"] or source["imageId"], execution.created_at_ms, source["imageId"])
        image_id = ports.ecs.create_image(
            name, mappings, create_platform(source["platform"]), source["architecture"], boot_mode,
            "%s repaired by image-repair (execution %s)" % (source["imageId"], execution.execution_id),
            tags_for(execution), client_token(execution.execution_id, STEP))
        return {"imageId": image_id, "name": name}

    created = once(ports, execution.execution_id, STEP, work)
    ports.say("image %s (%s) created" % (created["imageId"], created["name"]))
    return done(event)
