"""Step 3: launch the repair host: the source's system-disk snapshot attached as a data disk
(DeleteWithInstance), no public IP, tags naming the execution and the source image, a ClientToken
from the execution and the step (a retried launch finds the first instance), and AutoReleaseTime as
a safety net should every clean-up fail."""
import time

from ..models import FlowEvent, FlowState
from .common import Ports, client_token, done, load, once, result_of, tags_for
from .check_source_image import STEP as CHECK
from .choose_base_image import STEP as BASE

STEP = "launch_repair_instance"
AUTO_RELEASE_AFTER_S = 12 * 3600


def auto_release_time(created_at_ms: int) -> str:
    # From the execution's creation, not "now": a retried RunInstances must send the same
    # parameters with its ClientToken, or ECS answers IdempotentParameterMismatch.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created_at_ms // 1000 + AUTO_RELEASE_AFTER_S))


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    source, base = result_of(execution, CHECK), result_of(execution, BASE)

    def work() -> dict:
        spec = {"zoneId": request.zoneId, "imageId": base["imageId"], "instanceType": request.instanceType,
                "securityGroupId": request.securityGroupId, "vSwitchId": request.vSwitchId,
                "systemDiskCategory": request.systemDiskCategory,
                "name": "image-repair-%s" % source["imageId"],
                "autoReleaseTime": auto_release_time(execution.created_at_ms),
                "dataDisks": [{"snapshotId": source["systemSnapshotId"], "size": source["systemSize"]}]}
        instance_id = ports.ecs.run_instance(spec, tags_for(execution), client_token(execution.execution_id, STEP))
        return {"instanceId": instance_id, "autoReleaseTime": spec["autoReleaseTime"]}

    launched = once(ports, execution.execution_id, STEP, work)
    ports.say("repair host %s launched" % launched["instanceId"])
    return done(event)
