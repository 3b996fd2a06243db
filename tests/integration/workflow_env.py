"""The repair workflow against the in-process ECS emulator, with the real SDK (test helper).

``WorkflowEnv`` runs the deployed flow definition with the local runner on the emulator's own
virtual clock (waits move the cloud), a real store, the real agent zipapp delivered by SendFile,
and a stand-in for the repair host: a command handler that joins the delivered parts, checks
their SHA-256 against the script's, decodes the script's JSON parameters, checks the serial names
the disk made from the source's system snapshot, and answers an agent report.

The store (``store=``): "sqlite", a file; or "tablestore", the Tablestore adapter through the real
``tablestore`` SDK over HTTP to the emulator's Tablestore (``mock_ecs(tablestore=True)``: a
loopback port, on the ECS backend's clock), configured as a deployment is, from
``IMAGE_REPAIR_STORE`` and ``TABLESTORE_ENDPOINT`` (store_settings_from_env). ``env.ots`` is then
that Tablestore's backend (its faults and call log).
"""
import base64
import copy
import hashlib
import json
import re
from typing import Callable, Dict, List, Optional

from image_repair.agent.items import ITEM_NAMES
from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.control.steps.runner import bound_handlers
from image_repair.control.local_run import CloudClock, load_repair_flow
from image_repair.control.policy import TAG_EXECUTION
from image_repair.control.steps.common import Ports
from image_repair.control.steps.start import record_execution
from image_repair.control.store.settings import store_settings_from_env
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.control.store.tablestore import TablestoreStore, make_ots_client
from image_repair.control.store.tablestore_retry import RetrySchedule, no_wait
from image_repair.testing import ecs_client, mock_ecs, tablestore_store_env

SOURCE = "m-bp1emulatorbrokenimg01"
STORES = ("sqlite", "tablestore")
# A held Tablestore answer costs the client this long (then it retries): short, since the
# emulator answers at once unless a fault holds it; a spurious timeout is a lost answer, which the
# adapter handles (docs/store.md, "Failures and retries").
TABLESTORE_SOCKET_TIMEOUT_S = 1.0
_DEFINITION = None
_ZIPAPP = None


def definition():
    global _DEFINITION
    if _DEFINITION is None:
        _DEFINITION = load_repair_flow()
    return _DEFINITION


def zipapp() -> bytes:
    global _ZIPAPP
    if _ZIPAPP is None:
        from image_repair.control.agent_build import build_zipapp
        _ZIPAPP = build_zipapp()
    return _ZIPAPP


def seed_with(*images: dict) -> dict:
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["images"].extend(copy.deepcopy(list(images)))
    return seed


def request(**overrides) -> dict:
    raw = {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-h", "repairImageId": SOURCE,
           "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1emulator0000000000",
           "vSwitchId": "vsw-bp1emulator00000000h", "repairItems": "auto"}
    raw.update(overrides)
    return raw


class HostAgent:
    """What the repair host does with our RunCommand script (the agent's report is made up from
    ``outcome``: "repaired", "item_failed", "refused", "garbage")."""

    def __init__(self, env: "WorkflowEnv"):
        self.env = env
        self.outcome = "repaired"
        self.runs: List[dict] = []

    def __call__(self, backend, invocation, record, instance):
        if invocation.kind != "command" or "join the agent's parts" not in invocation.content:
            return None
        script = invocation.content
        digest = re.search(r'echo "([0-9a-f]{64})  \$agent.tmp"', script).group(1)
        count = int(re.search(r"^parts=(\d+)$", script, re.M).group(1))
        agent = re.search(r"^agent=(\S+)$", script, re.M).group(1)
        parts = sorted(path for path in instance.files if path.startswith(agent + ".part-"))
        joined = b"".join(instance.files[p] for p in parts)
        if len(parts) != count or hashlib.sha256(joined).hexdigest() != digest:
            return 3, '{"version": 1, "items": [], "error": {"type": "DeliveryFailed", "message": "parts"}}\n', 5
        params = json.loads(base64.b64decode(re.search(r"echo (\S+) \| base64 -d", script).group(1)))
        serials = {d.serial: d for d in backend.disks.values() if d.instance_id == instance.id}
        disk = serials.get(params["diskSerial"])
        assert disk is not None and disk.type == "data", "the serial must name a data disk of the host"
        self.runs.append({"params": params, "disk": disk.id, "source_snapshot": disk.source_snapshot_id,
                          "agent_bytes": len(joined)})
        return self.report(params)

    def report(self, params: dict):
        items = params["items"]
        names = list(ITEM_NAMES) if items in (["auto"], ["all"]) else list(items)
        if self.outcome == "refused":
            body = {"version": 1, "mode": "repair", "items": [], "exit_status": 2,
                    "error": {"type": "RefusedDisk", "message": "no Linux root filesystem found", "exit_status": 2}}
            return 2, json.dumps(body) + "\n", 20
        if self.outcome == "huge":      # a report over Cloud Assistant's 24 KB output cap
            body = {"version": 1, "items": [{"name": n, "status": "repaired", "findings": ["x" * 4000]} for n in names]}
            return 0, json.dumps(body) + "\n", 20
        if self.outcome == "garbage":
            return 1, "Traceback (most recent call last):\n  boom\n", 20
        entries = [{"name": n, "status": "repaired", "findings": ["%s was at risk" % n],
                    "changes": {"files": ["/etc/x"], "backups": [], "commands": []}, "duration": 1.0}
                   for n in names]
        exit_code = 0
        if self.outcome == "item_failed":
            entries[0].update(status="failed", error="update-initramfs failed")
            exit_code = 1
        body = {"version": 1, "mode": "dry-run" if params.get("dryRun") else "repair",
                "distribution": {"id": "centos", "version": "7", "name": "CentOS Linux 7", "platform": "CentOS"},
                "items": entries, "duration": 60.0, "exit_status": exit_code}
        return exit_code, "progress line on stdout\n" + json.dumps(body, indent=1) + "\n", 90


class WorkflowEnv:
    def __init__(self, tmp_path, seed: Optional[dict] = None, latency: str = "manual", store: str = "sqlite"):
        if store not in STORES:
            raise ValueError("store must be one of %s" % (STORES,))
        self.tmp_path = tmp_path
        self.store_kind = store
        self.mock = mock_ecs(seed, latency=latency, tablestore=store == "tablestore")
        self.ots = None
        self.store_faults_left = 0
        self.created_ids: List[str] = []
        self.before_step: Dict[str, Callable] = {}    # function step name -> hook(env) (first call)
        self.after_step: Dict[str, Callable] = {}
        # How the runner names an error a function raised (flow.runner.FUNCTION_ERROR_NAMINGS: the
        # cloud's naming is undocumented, so the workflow must succeed under each)
        self.function_error_naming = "errorType"
        self.platform_faults: Optional[Callable] = None   # (state, function) -> FC.<ErrorCode> or None

    def __enter__(self) -> "WorkflowEnv":
        self.backend = self.mock.__enter__()
        original = self.backend.new_id

        def recording_new_id(prefix):
            value = original(prefix)
            self.created_ids.append(value)
            return value
        self.backend.new_id = recording_new_id
        self.host = HostAgent(self)
        self.backend.command_handlers.append(self.host)
        self.clock = CloudClock(self.backend)
        self.store = self.open_store()
        self.ecs = EcsPort(ecs_client(self.backend), self.backend.region)
        self.ports = Ports(store=self.store, ecs=self.ecs, clock=self.clock.now, agent_zipapp=zipapp)
        self.source_before = self.image_snapshot(SOURCE)
        return self

    def __exit__(self, *exc):
        self.store.close()
        self.mock.__exit__(*exc)

    def open_store(self):
        if self.store_kind == "sqlite":
            return SQLiteStore(str(self.tmp_path / "state.db"), clock=self.clock.now)
        self.ots = self.mock.tablestore
        settings = store_settings_from_env(tablestore_store_env(self.mock.tablestore_endpoint))
        # The adapter as open_store builds it, with a short socket timeout and retries without
        # waiting (the flow's clock is virtual; the adapter's backoff is wall-clock time).
        client = make_ots_client(settings.endpoint, settings.access_key_id, settings.access_key_secret,
                                 settings.instance, socket_timeout=TABLESTORE_SOCKET_TIMEOUT_S)
        return TablestoreStore(client, settings.table, clock=self.clock.now, retry=RetrySchedule(sleep=no_wait))

    # --- running ----------------------------------------------------------------------------------
    def start(self, **overrides):
        execution, created, _ = record_execution(self.store, request(**overrides))
        return execution.execution_id, created

    def handlers(self) -> dict:
        from image_repair.control.steps import FUNCTIONS
        plain = bound_handlers(self.ports)
        seen = set()

        def wrap(name):
            step = FUNCTIONS[name]

            def handler(event, context=None):
                if step in self.before_step and step not in seen:
                    seen.add(step)
                    self.before_step[step](self)
                result = plain[name](event, context)
                if step in self.after_step:
                    self.after_step.pop(step)(self)
                return result
            return handler
        return {name: wrap(name) for name in plain}

    def run(self, execution_id: str):
        from image_repair.control.flow import FlowRunner
        from image_repair.control.store import ExecutionStatus
        from image_repair.control.models import flow_input
        runner = FlowRunner(definition(), self.handlers(), clock=self.clock, region=self.backend.region,
                            function_error_naming=self.function_error_naming, platform_faults=self.platform_faults)
        result = runner.run(flow_input(execution_id), name=execution_id)
        if self.ots is not None:     # store faults planted but never met are dropped: the checks read the store
            self.store_faults_left = self.ots.faults.pending()
            self.ots.faults.clear()
        execution = self.store.get_execution(execution_id)
        if result.status != "Succeeded" and execution.status == ExecutionStatus.RUNNING:
            self.store.finish_execution(execution_id, ExecutionStatus.FAILED,
                                        error={"code": result.error_code, "detail": result.error_detail})
        return result

    def repair(self, **overrides):
        execution_id, _ = self.start(**overrides)
        return self.run(execution_id), self.store.get_execution(execution_id)

    # --- invariants -------------------------------------------------------------------------------
    def image_snapshot(self, image_id: str) -> dict:
        image = self.backend.images[image_id]
        # image-repair:repaired-by is the one change a successful repair makes to its source (finish)
        return {"status": image.status, "name": image.name,
                "tags": {k: v for k, v in image.tags.items() if k != "image-repair:repaired-by"},
                "mappings": [(m.type, m.snapshot_id, m.size) for m in image.mappings],
                "nvme": image.nvme_support, "snapshots": [m.snapshot_id in self.backend.snapshots
                                                          for m in image.mappings]}

    def leftovers(self, execution_id: str) -> list:
        """Live resources tagged by the execution, except the new image and its snapshots."""
        execution = self.store.get_execution(execution_id)
        new_image = ((execution.report or {}).get("newImageId") if execution.status.value == "SUCCEEDED" else None)
        keep = set()
        if new_image and new_image in self.backend.images:
            keep.add(("image", new_image))
            keep.update(("snapshot", m.snapshot_id) for m in self.backend.images[new_image].mappings)
        return sorted(set(self.backend.resources_by_tag(TAG_EXECUTION, execution_id)) - keep)

    def created(self, prefix: str) -> List[str]:
        return [i for i in self.created_ids if i.startswith(prefix)]

    def check_invariants(self, execution_id: str) -> None:
        execution = self.store.get_execution(execution_id)
        assert execution.status.value in ("SUCCEEDED", "FAILED"), execution.status
        assert self.leftovers(execution_id) == [], self.leftovers(execution_id)
        assert self.image_snapshot(SOURCE) == self.source_before, "the source image changed"
        assert len(self.created("i-")) <= 1, self.created("i-")
        images = [i for i in self.created("m-")]
        assert len(images) <= 1, images
        lock = self.store.get_lock(execution.source_image_id)
        assert lock is None or lock.owner != execution_id, "the lock was not released"
        for action in ("RunInstances", "CreateSnapshot", "CreateImage", "RunCommand", "InvokeCommand"):
            tokens = {c.params.get("ClientToken") for c in self.backend.calls if c.action == action}
            assert None not in tokens and len(tokens) <= 1, (action, tokens)
