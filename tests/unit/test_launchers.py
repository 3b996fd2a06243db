"""start_execution: validate, record once, launch once (and relaunch only where that is idempotent)."""
import pytest

from image_repair.control.launchers import start_execution
from image_repair.control.models import InvalidRequest
from image_repair.control.store import ExecutionStatus

RAW = {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-i", "repairImageId": "m-bp1abcdefghijklmnop",
       "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1abcdefghijklmnop",
       "vSwitchId": "vsw-bp1abcdefghijklmnop", "repairItems": "auto"}


class RecordingLauncher:
    def __init__(self, idempotent):
        self.idempotent, self.calls = idempotent, []

    def launch(self, execution_id):
        self.calls.append(execution_id)
        return True


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_new_execution_is_launched_once(store, idempotent):
    launcher = RecordingLauncher(idempotent)
    first = start_execution(store, launcher, dict(RAW))
    assert first.created and first.started and launcher.calls == [first.execution_id]
    second = start_execution(store, launcher, dict(RAW))
    assert second.execution_id == first.execution_id and not second.created
    # a running duplicate is relaunched only through an idempotent launcher (CloudFlow names)
    assert launcher.calls == [first.execution_id] * (2 if idempotent else 1)
    assert second.started is idempotent


def test_a_finished_execution_is_never_relaunched(store):
    launcher = RecordingLauncher(True)
    launched = start_execution(store, launcher, dict(RAW))
    store.finish_execution(launched.execution_id, ExecutionStatus.SUCCEEDED, report={})
    again = start_execution(store, launcher, dict(RAW))
    assert not again.started and again.status == ExecutionStatus.SUCCEEDED.value and len(launcher.calls) == 1


def test_bad_parameters_record_and_launch_nothing(store):
    launcher = RecordingLauncher(True)
    with pytest.raises(InvalidRequest):
        start_execution(store, launcher, dict(RAW, repairImageId="not-an-image"))
    assert launcher.calls == [] and list(store.list_executions()) == []
