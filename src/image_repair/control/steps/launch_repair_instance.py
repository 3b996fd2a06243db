"""Step 3: launch the repair host: the source's system-disk snapshot attached as a data disk
(DeleteWithInstance), no public IP, tags naming the execution and the source image, a ClientToken
from the execution, the step and the planned AutoReleaseTime (a retried launch finds the first
instance), and AutoReleaseTime as a safety net should every clean-up fail (steps/host_lifetime.py).

The plan (the release time) is recorded before RunInstances, so every retry sends the same
parameters. A plan that has gone stale (the execution resumed long after) is replaced only once
no instance tagged by this execution exists: one whose answer was lost is adopted instead."""
from ..models import FlowEvent, FlowState
from ..policy import TAG_EXECUTION
from .common import Ports, client_token, done, load, once, result_of, tags_for
from .check_source_image import STEP as CHECK
from .choose_base_image import STEP as BASE
from .host_lifetime import HOST_LIFETIME_S, release_time, still_valid
from .pool_host import lease_slot

STEP = "launch_repair_instance"
PLAN = "launch_repair_instance.plan"


def plan(ports: Ports, execution) -> dict:
    """The launch's release time (and the ClientToken that goes with it), recorded once; replaced
    when too close to now for RunInstances, if no earlier launch of this execution exists."""
    recorded = execution.steps.get(PLAN)
    if recorded is not None and still_valid(recorded.result["autoReleaseTime"], ports.clock()):
        return recorded.result
    planned = {"autoReleaseTime": release_time(ports.clock() + HOST_LIFETIME_S)}
    if recorded is not None:
        planned["adopt"] = sorted(rid for kind, rid in ports.ecs.tagged(TAG_EXECUTION, execution.execution_id,
                                                                         kinds=("instance",)))
    ports.store.record_step_result(execution.execution_id, PLAN, planned)
    return planned


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    source, base = result_of(execution, CHECK), result_of(execution, BASE)
    if request.pool:                     # a slot on a shared host instead (pool_host.py)
        lease_slot(ports, execution, request, base["imageId"])
        return done(event)

    def work() -> dict:
        planned = plan(ports, execution)
        if planned.get("adopt"):        # launched by an attempt whose answer was lost
            return {"instanceId": planned["adopt"][0], "autoReleaseTime": planned["autoReleaseTime"], "adopted": True}
        spec = {"zoneId": request.zoneId, "imageId": base["imageId"], "instanceType": request.instanceType,
                "securityGroupId": request.securityGroupId, "vSwitchId": request.vSwitchId,
                "systemDiskCategory": request.systemDiskCategory,
                "name": "image-repair-%s" % source["imageId"],
                "autoReleaseTime": planned["autoReleaseTime"],
                "dataDisks": [{"snapshotId": source["systemSnapshotId"], "size": source["systemSize"]}]}
        token = client_token(execution.execution_id, STEP, planned["autoReleaseTime"])
        instance_id = ports.ecs.run_instance(spec, tags_for(execution), token)
        return {"instanceId": instance_id, "autoReleaseTime": spec["autoReleaseTime"]}

    launched = once(ports, execution.execution_id, STEP, work)
    ports.say("repair host %s launched" % launched["instanceId"])
    return done(event)
