"""Step 7: release the repair host as soon as the repaired disk no longer needs it, keeping the disk.

The agent has unmounted and synced the disk before it answered, so the host has nothing left to
do: the snapshot, the image and its check need only the disk. ECS keeps a disk when its instance
is released if the disk's DeleteWithInstance is false (DeleteInstance API reference: "retained as
a pay-as-you-go disk"; ModifyDiskAttribute sets it before the release). So, once per execution:
ModifyDiskAttribute(DeleteWithInstance=false), then DeleteInstance(Force); then wait until the
disk is Available (Detaching first), which CreateSnapshot accepts for a disk that was attached
before (docs/cloud-contracts.md, "Disks and the host's early release").

The disk is launched with DeleteWithInstance=true, and changed only here, so until the repair is
done the host's AutoReleaseTime still takes the disk with it should every clean-up fail; from
here on the disk carries the execution's tag (RunInstances tags an instance's disks), which
clean-up and the janitor look for. Both calls are idempotent (the same attribute set twice, an
instance already gone), so a call again after a lost answer does no harm. A dry run makes no
image: the host is left to clean-up, which deletes it with its disk.
"""
from ..cloud_errors import CloudError
from ..models import FlowEvent, FlowState
from .common import Ports, ResourceFailed, done, load, once, poll, result_of, seconds_since
from .launch_repair_instance import STEP as LAUNCH
from .pool_host import detach_from_pool, pooled
from .wait_until_ready import STEP as READY

STEP = "release_repair_host"
RELEASE = STEP + ".release"
FIRST_WAIT_S = 5
# Typical time from the release to the kept disk Available: DetachDisk's documented "approximately
# 1 minute" (no figure is published for a release; the emulator's LatencyModel.disk_detach).
TYPICAL_DETACH_S = 60.0
# DeleteInstance answers this for ~60 s after the launch (a repair that fast): look again later.
NOT_YET = ("IncorrectInstanceStatus.Initializing",)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if request.dryRun:
        once(ports, execution.execution_id, STEP, lambda: {"skipped": "dry run: clean-up deletes the host"})
        return done(event)
    if pooled(execution):                # the host stays in the pool: only the disk leaves it
        ready = result_of(execution, READY)
        return poll(ports, event, STEP, lambda: detach_from_pool(ports, execution, ready["diskId"], ready["instanceId"]),
                    FIRST_WAIT_S)
    instance_id, disk_id = result_of(execution, LAUNCH)["instanceId"], result_of(execution, READY)["diskId"]

    def release() -> dict:
        ports.ecs.set_delete_with_instance(disk_id, False)   # first: a release before it would take the disk
        ports.ecs.delete_instance(instance_id)
        ports.say("repair host %s released; disk %s kept" % (instance_id, disk_id))
        return {"instanceId": instance_id, "diskId": disk_id}

    def check():
        if RELEASE not in execution.steps:
            try:
                once(ports, execution.execution_id, RELEASE, release)
            except CloudError as error:
                if error.service_code not in NOT_YET:
                    raise
                return False, "repair host %s past its creation protection window" % instance_id, {}
        disk = ports.ecs.describe_disk(disk_id)
        if disk is None:        # e.g. a host locked for security: ECS ignores DeleteWithInstance then
            raise ResourceFailed("disk %s was released with its repair host %s" % (disk_id, instance_id))
        if disk.get("Status") != "Available":
            remaining = TYPICAL_DETACH_S - seconds_since(ports, execution, RELEASE)
            return False, "disk %s Available (now %s)" % (disk_id, disk.get("Status")), {}, remaining
        return True, "disk %s Available, off its released host" % disk_id, {"diskId": disk_id}

    return poll(ports, event, STEP, check, FIRST_WAIT_S)
