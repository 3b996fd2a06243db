"""The runner and the store together, as the workflow uses them: the flow carries only the
execution id; handlers keep their state in the store and are idempotent through it. A response
lost after the work was committed is retried by the flow and does not repeat the work."""
import json
import textwrap

import pytest

from image_repair.control.flow import FlowRunner, VirtualClock, parse_definition
from image_repair.control.store import ExecutionStatus, LockHeld, open_store, StoreSettings

FLOW = """\
    Type: StateMachine
    Name: locked-launch
    SpecVersion: v1
    StartAt: Lock
    States:
      - Name: Lock
        Type: Task
        Action: FC:InvokeFunction
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:1:functions/lock/LATEST
          body:
            executionId.$: $Context.Execution.Input.executionId
        Catch:
          - Errors: [FC.ImageBusy]
            Description: a rule
            Next: Busy
        OutputConstructor:
          executionId.$: $Context.Execution.Input.executionId
        Next: Launch
      - Name: Launch
        Type: Task
        Action: FC:InvokeFunction
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:1:functions/launch/LATEST
          body:
            executionId.$: $Input.executionId
        Retry:
          - Errors: [FC.ServiceUnavailable]
            Description: a rule
            MaxAttempts: 3
            IntervalSeconds: 5
            BackoffRate: 2
        Catch:
          - Errors: [FnF.ALL]
            Description: a rule
            Next: Cleanup
        OutputConstructor:
          executionId.$: $Input.executionId
        Next: Finish
      - Name: Finish
        Type: Task
        Action: FC:InvokeFunction
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:1:functions/finish/LATEST
          body:
            executionId.$: $Input.executionId
        End: true
      - Name: Cleanup
        Type: Task
        Action: FC:InvokeFunction
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:1:functions/finish/LATEST
          body:
            executionId.$: $Input.executionId
            failed: true
        Next: Failed
      - Name: Failed
        Type: Fail
        Code: RepairFailed
      - Name: Busy
        Type: Fail
        Code: ImageBusy
    """


def Coded(code):
    """An exception whose class is named ``code`` (Function Compute passes on the class name only;
    the runners here name it FC.<errorType>)."""
    return type(code, (Exception,), {})(code)


class Cloud:
    """Handlers over a store and a pretend cloud (a dict of instances)."""

    def __init__(self, store, lose_launch_responses=0):
        self.store, self.instances, self.lost = store, {}, lose_launch_responses

    def handlers(self):
        return {"lock": self.lock, "launch": self.launch, "finish": self.finish}

    def lock(self, event, context):
        execution = self.store.get_execution(json.loads(event)["executionId"])
        try:
            self.store.acquire_lock(execution.source_image_id, execution.execution_id, ttl_s=3600)
        except LockHeld as held:
            raise Coded("ImageBusy") from held
        return {}

    def launch(self, event, context):
        execution_id = json.loads(event)["executionId"]

        def create():
            instance_id = "i-%d" % (len(self.instances) + 1)
            self.instances[instance_id] = execution_id
            return {"instanceId": instance_id}
        result = self.store.run_step(execution_id, "launch", create)
        self.store.record_step_result(execution_id, "launch", result)
        if self.lost:                     # committed, but the response never reaches the flow
            self.lost -= 1
            raise Coded("ServiceUnavailable")
        return result

    def finish(self, event, context):
        body = json.loads(event)
        execution = self.store.get_execution(body["executionId"])
        status = ExecutionStatus.FAILED if body.get("failed") else ExecutionStatus.SUCCEEDED
        self.store.finish_execution(execution.execution_id, status, report={"steps": sorted(execution.steps)})
        self.store.release_lock(execution.source_image_id, execution.execution_id)
        return {"status": status.value}


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def store(tmp_path, clock):
    return open_store(StoreSettings(backend="sqlite", sqlite_path=str(tmp_path / "state.db")), clock=clock)


def run(cloud, clock, execution_id):
    handlers = cloud.handlers()
    definition = parse_definition(textwrap.dedent(FLOW), set(handlers))
    return FlowRunner(definition, handlers, clock=clock, function_error_naming="FC.errorType").run({"executionId": execution_id}, name=execution_id)


def test_lost_responses_are_retried_without_repeating_the_work(store, clock):
    store.create_execution("exec-1", "m-src")
    cloud = Cloud(store, lose_launch_responses=2)
    result = run(cloud, clock, "exec-1")
    assert result.status == "Succeeded", result.error_detail
    assert cloud.instances == {"i-1": "exec-1"}                       # created once
    assert [e.detail["delay"] for e in result.events("RetryScheduled")] == [5, 10]
    execution = store.get_execution("exec-1")
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.steps["launch"].result == {"instanceId": "i-1"}
    assert store.get_lock("m-src") is None


def test_a_second_execution_on_a_locked_image_fails_as_busy(store, clock):
    store.create_execution("exec-1", "m-src")
    store.acquire_lock("m-src", "exec-1", ttl_s=3600)                   # exec-1 is mid-repair
    store.create_execution("exec-2", "m-src")
    cloud = Cloud(store)
    result = run(cloud, clock, "exec-2")
    assert (result.status, result.error_code) == ("Failed", "ImageBusy")
    assert cloud.instances == {} and store.get_lock("m-src").owner == "exec-1"
    clock.advance(3601)                                                # exec-1 died: its lock expires
    assert run(cloud, clock, "exec-2").status == "Succeeded"
    assert cloud.instances == {"i-1": "exec-2"}


def test_launch_failing_for_good_goes_to_cleanup(store, clock):
    store.create_execution("exec-1", "m-src")
    cloud = Cloud(store, lose_launch_responses=99)
    result = run(cloud, clock, "exec-1")
    assert (result.status, result.error_code) == ("Failed", "RepairFailed")
    assert result.visited == ["Lock", "Launch", "Cleanup", "Failed"]
    assert len(result.events("RetryScheduled")) == 3 and cloud.instances == {"i-1": "exec-1"}
    assert store.get_execution("exec-1").status == ExecutionStatus.FAILED and store.get_lock("m-src") is None
