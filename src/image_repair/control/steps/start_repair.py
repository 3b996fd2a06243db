"""Step 5: start the repair on the host.

engine ``agent``: deliver the agent (SendFile parts, each with its own ClientToken) and start
it with one RunCommand (agent_delivery). engine ``alibaba``: InvokeCommand the public command
``ACS-ECS-ImageRepair-for-linux.sh`` with the seed's parameters (``repairitems`` space-joined,
``disk_serial``), passed as a JSON object by the SDK, never concatenated into JSON text."""
import base64
import re

from ..models import FlowEvent, FlowState
from .agent_delivery import COMMAND_TIMEOUT_S, TARGET_DIR, digest_of, part_name, repair_script, split_parts
from .check_source_image import STEP as CHECK
from .common import PUBLIC_REPAIR_COMMAND, Ports, StepError, client_token, done, load, once, result_of, tags_for
from .pool_host import repair_host
from .wait_until_ready import STEP as READY

STEP = "start_repair"
SERIAL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    source, ready = result_of(execution, CHECK), result_of(execution, READY)
    instance_id, serial = repair_host(execution)[0], ready["serial"]
    if not SERIAL.match(serial):
        raise StepError("disk serial %r is not a plain serial number" % serial, "InvalidSerial")
    tags = tags_for(execution)
    exec_id = execution.execution_id

    def with_agent() -> dict:
        payload = ports.zipapp()
        digest = digest_of(payload)
        parts = split_parts(payload)
        for index, part in enumerate(parts):
            ports.ecs.send_file(instance_id, part_name(digest, index), TARGET_DIR, part,
                                client_token(exec_id, STEP, "part", str(index), digest), tags)
        params = {"items": source["items"], "diskSerial": serial, "dryRun": request.dryRun}
        params.update({k: v for k, v in ports.options.items() if v})
        script = repair_script(digest, len(parts), params)
        invoke_id = ports.ecs.run_command(instance_id, "image-repair", base64.b64encode(script.encode()).decode(),
                                          COMMAND_TIMEOUT_S, client_token(exec_id, STEP, "run", digest), tags)
        return {"engine": "agent", "invokeId": invoke_id, "agentSha256": digest, "parts": len(parts),
                "items": source["items"]}

    def with_public_command() -> dict:
        parameters = {"repairitems": " ".join(source["items"]), "disk_serial": serial}
        invoke_id = ports.ecs.invoke_command(instance_id, PUBLIC_REPAIR_COMMAND, parameters, COMMAND_TIMEOUT_S,
                                             client_token(exec_id, STEP, "invoke"), tags)
        return {"engine": "alibaba", "invokeId": invoke_id, "items": source["items"]}

    started = once(ports, exec_id, STEP, with_agent if request.engine == "agent" else with_public_command)
    ports.say("repair started on %s (%s, invocation %s)" % (instance_id, started["engine"], started["invokeId"]))
    return done(event)
