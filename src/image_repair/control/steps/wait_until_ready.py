"""Step 4: wait until the repair host is Running with Cloud Assistant online and the disk made
from the source's system snapshot is In_use; record that disk's serial. The disk is found by
``DiskType=data`` and its source snapshot, never as ``Disk[0]`` (the host's own system disk)."""
from ..models import FlowEvent, FlowState
from .common import Ports, ResourceFailed, StepError, load, poll, result_of, seconds_since
from .check_source_image import STEP as CHECK
from .host_lifetime import keep_alive
from .launch_repair_instance import STEP as LAUNCH
from .pool_host import wait_for_pooled_disk

STEP = "wait_until_ready"
FIRST_WAIT_S = 5
# Typical time from RunInstances to Running with Cloud Assistant online (Pending ~5 s + Starting
# ~25 s, docs/emulator.md): the first look waits for it instead of polling a booting host.
TYPICAL_BOOT_S = 30.0


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    source, launched = result_of(execution, CHECK), result_of(execution, LAUNCH)
    if request.pool:                     # the path the request chose, as LaunchRepairInstance read it
        return poll(ports, event, STEP, lambda: wait_for_pooled_disk(ports, execution, request, source), FIRST_WAIT_S)
    instance_id = launched["instanceId"]

    def check():
        instance = ports.ecs.describe_instance(instance_id)
        if instance is None:
            raise ResourceFailed("repair host %s disappeared" % instance_id)
        keep_alive(ports, execution, instance_id, launched["autoReleaseTime"])
        status = instance.get("Status")
        if status in ("Stopped", "Stopping"):
            raise ResourceFailed("repair host %s is %s" % (instance_id, status))
        if status != "Running":
            remaining = TYPICAL_BOOT_S - seconds_since(ports, execution, LAUNCH)
            return False, "instance %s Running (now %s)" % (instance_id, status), {}, remaining
        if not ports.ecs.cloud_assistant_online(instance_id):
            return False, "Cloud Assistant on %s" % instance_id, {}
        disks = ports.ecs.data_disks(instance_id, source["systemSnapshotId"])
        if len(disks) > 1:
            raise StepError("%d data disks of %s come from %s" % (len(disks), instance_id, source["systemSnapshotId"]),
                            "AmbiguousDisk")
        if not disks or disks[0].get("Status") != "In_use":
            return False, "the data disk from %s In_use" % source["systemSnapshotId"], {}
        disk = disks[0]
        serial = disk.get("SerialNumber") or disk["DiskId"].split("-", 1)[-1]
        return True, "disk %s (serial %s) ready on %s" % (disk["DiskId"], serial, instance_id), \
            {"diskId": disk["DiskId"], "serial": serial}

    return poll(ports, event, STEP, check, FIRST_WAIT_S)
