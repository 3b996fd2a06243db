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


def test_a_temp_dir_with_a_mount_still_inside_is_never_deleted(tmp_path, monkeypatch):
    from image_repair.agent.disk import mounts
    folder = tmp_path / "image-repair-x"
    (folder / "root" / "etc").mkdir(parents=True)
    (folder / "root" / "etc" / "fstab").write_text("guest data")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("27 1 254:0 / / rw - ext4 /dev/vda rw\n"
                         "90 27 7:1 / %s/root rw - ext4 /dev/loop1 rw\n" % str(folder).replace(" ", "\\040"))
    assert mounts.mounts_below(str(folder), str(mountinfo)) == [str(folder / "root")]
    with monkeypatch.context() as patch:
        original = mounts.mounts_below
        patch.setattr(mounts, "mounts_below", lambda path: original(path, str(mountinfo)))
        with pytest.raises(AgentError, match="still mounted"):
            mounts.remove_temp_dir(str(folder))
    assert (folder / "root" / "etc" / "fstab").read_text() == "guest data"
    mounts.remove_temp_dir(str(folder))   # nothing mounted there (in the real mountinfo): removed
    assert not folder.exists()
