"""The MountStack's undo discipline (no mounts needed to show the order and the error report)."""
import pytest

from image_repair.agent.disk.mounts import MountStack
from image_repair.agent.errors import AgentError


def test_undone_in_reverse_and_every_step_runs_after_a_failure():
    order = []
    with pytest.raises(AgentError, match="cleanup incomplete, still present: broken"):
        with MountStack() as stack:
            stack.push("first", lambda: order.append("first"))
            stack.push("broken", lambda: 1 / 0)
            stack.push("last", lambda: order.append("last"))
    assert order == ["last", "first"]


def test_the_original_error_wins_over_a_cleanup_failure():
    with pytest.raises(KeyError):
        with MountStack() as stack:
            stack.push("broken", lambda: 1 / 0)
            raise KeyError("the real problem")


def test_temp_dirs_are_removed(tmp_path):
    with MountStack() as stack:
        folder = stack.temp_dir(parent=str(tmp_path))
        open(folder + "/file", "w").close()
    assert list(tmp_path.iterdir()) == []
