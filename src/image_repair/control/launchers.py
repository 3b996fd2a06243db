"""Launchers: how a recorded repair execution gets started.

Every entry point (the ``start`` function, EventBridge events, the scheduled sweep) records the
execution in the store first (deterministic id: the same repair asked twice is one execution), then
asks a launcher to run it:

* ``CloudFlowLauncher``: CloudFlow StartExecution named by the execution id (the cloud default;
  CloudFlow itself refuses a second execution of one name);
* ``LocalLauncher``: the same flow definition run in-process by the local runner (the embedded
  defaults), synchronously;
* ``FcAsyncLauncher``: the start function invoked asynchronously with the execution's parameters
  (Function Compute 3.0, an async task named by the execution id; clients/fc.py says why);
* anything else with ``launch(execution_id) -> bool`` and ``idempotent`` (a test's recorder).

``start_execution`` is the one place that does "validate, record, launch" for all of them;
``fanout_launcher`` is the sweep's choice of fan-out (the settings' IMAGE_REPAIR_FANOUT).
"""
import json
from typing import NamedTuple, Optional

from .clients.cloudflow import cloudflow_starter
from .cloud_errors import CloudError
from .clients.fc import FcInvoker, fc_client
from .models import InvalidRequest, flow_input, parse_request
from .steps import START_FUNCTION
from .steps.start import record_execution
from .store import ExecutionStatus


class Launched(NamedTuple):
    execution_id: str
    created: bool        # the store had no such execution before
    started: bool        # this call started a run (False: a duplicate, or already finished)
    status: str          # the execution's status after the call


class CloudFlowLauncher:
    idempotent = True                     # a second start of one name is refused by CloudFlow

    def __init__(self, starter):
        self.starter = starter            # clients.cloudflow.CloudFlowStarter

    def launch(self, execution_id: str) -> bool:
        return self.starter.start(execution_id, flow_input(execution_id))["started"]


class LocalLauncher:
    """Runs the execution to its end before returning (one machine, no queue)."""
    idempotent = False

    def __init__(self, ports, clock=None):
        self.ports, self.clock = ports, clock

    def launch(self, execution_id: str) -> bool:
        from .local_run import run_execution     # lazy: the flow runner and PyYAML serve local runs, never a function
        run_execution(self.ports, execution_id, clock=self.clock)
        return True


class FcAsyncLauncher:
    """Queues the start function with the execution's recorded start parameters; FC refuses a
    second task of one id (the execution id), so a repeated launch is harmless."""
    idempotent = True

    def __init__(self, invoker, store, function_name: str = START_FUNCTION, qualifier: Optional[str] = None):
        self.invoker, self.store = invoker, store          # clients.fc.FcInvoker, a StateStore
        self.function_name, self.qualifier = function_name, qualifier

    def launch(self, execution_id: str) -> bool:
        """-> True when this call queued the start, False when FC already had it."""
        execution = self.store.get_execution(execution_id)
        if execution is None:
            raise CloudError("ExecutionNotFound", "no execution %s in the store to launch" % execution_id,
                             "InvokeFunction")
        body = json.dumps(execution.params, sort_keys=True).encode("utf-8")
        return self.invoker.invoke_async(self.function_name, body, execution_id, self.qualifier)


def fanout_launcher(settings, store, fanout: Optional[str] = None):
    """The sweep's fan-out: ``fanout``, else the settings' IMAGE_REPAIR_FANOUT: cloudflow (the
    default: CloudFlow StartExecution) or fc-async (the start function invoked asynchronously;
    IMAGE_REPAIR_START_FUNCTION overrides its name, image-repair-start by default; FC 3.0
    functions have no service)."""
    fanout = fanout or settings.fanout
    if fanout == "cloudflow":
        return CloudFlowLauncher(cloudflow_starter(settings))
    if fanout == "fc-async":
        return FcAsyncLauncher(FcInvoker(fc_client(settings)), store, settings.start_function or START_FUNCTION)
    raise CloudError("MissingConfiguration", "the fan-out must be cloudflow or fc-async, not %r" % fanout)


def start_execution(store, launcher, raw: dict, defaults: Optional[dict] = None) -> Launched:
    """Validate ``raw`` (the start parameters, seed names), record the execution, launch it when it
    is new. A duplicate of a finished execution starts nothing; a duplicate of a running one is
    launched again only through an idempotent launcher (CloudFlow: this heals a start that crashed
    between recording and launching). Raises ``models.InvalidRequest`` on bad parameters, before
    anything is recorded."""
    execution, created, _request = record_execution(store, raw, defaults)
    relaunch = execution.status == ExecutionStatus.RUNNING and getattr(launcher, "idempotent", False)
    started = launcher.launch(execution.execution_id) if (created or relaunch) else False
    execution = store.get_execution(execution.execution_id) or execution
    return Launched(execution.execution_id, created, started, execution.status.value)


MAX_BATCH = 100     # images one bulk start takes (the start body stays far under its 64 KB bound)


class BatchStarted(NamedTuple):
    started: list           # [Launched], in the order given
    deferred: list          # image ids past the quota: not recorded (the sweep, or a later start, takes them)


def start_batch(store, launcher, raw: dict, defaults: Optional[dict] = None, max_starts: int = MAX_BATCH) -> BatchStarted:
    """A bulk start (issue 13): ``raw`` holds the start parameters with ``repairImageIds`` (a list
    of 1-MAX_BATCH custom image ids) in place of ``repairImageId``; one execution per image, on
    the repair-host pool unless ``pool`` says otherwise. Every image's parameters are validated
    before anything is recorded (one bad id refuses the whole batch, naming it: nothing half
    started). At most ``max_starts`` are started, in order; the rest come back ``deferred``, so a
    caller feeding the pool under a quota (executions in flight) loses none of them."""
    ids = raw.get("repairImageIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH or not all(isinstance(i, str) for i in ids):
        raise InvalidRequest("repairImageIds: a list of 1-%d image ids" % MAX_BATCH)
    if len(set(ids)) != len(ids):
        raise InvalidRequest("repairImageIds: an image is listed twice")
    if not 0 <= max_starts <= MAX_BATCH:
        raise InvalidRequest("maxStarts: 0-%d" % MAX_BATCH)
    common = {k: v for k, v in raw.items() if k != "repairImageIds"}
    common.setdefault("pool", True)
    requests = []
    for image_id in ids:
        one = dict(common, repairImageId=image_id)
        try:
            parse_request(one, defaults)
        except InvalidRequest as error:
            raise InvalidRequest("image %s: %s" % (image_id[:64], error))
        requests.append(one)
    started = [start_execution(store, launcher, one, defaults) for one in requests[:max_starts]]
    return BatchStarted(started, [one["repairImageId"] for one in requests[max_starts:]])
