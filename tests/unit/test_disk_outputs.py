"""Output files (--report, --output): never an input, never an existing file without --force,
checked before any work, written atomically (issue 11, point 1)."""
import os
import stat

import pytest

from image_repair.agent import outputs
from image_repair.agent.errors import BadInput
from image_repair.agent.fileid import file_identity


def leftovers(folder):
    return [name for name in os.listdir(str(folder)) if name.startswith(outputs.TEMP_PREFIX)]


def test_a_new_file_in_an_existing_folder_passes(tmp_path):
    assert outputs.check_destination(str(tmp_path / "report.json"), "--report", False) == str(tmp_path / "report.json")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("precious"), "already exists: refusing to overwrite it"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: os.symlink("/nonexistent/target", str(p)), "already exists"),
])
def test_an_existing_path_is_refused_without_force(tmp_path, make, message):
    """Issue 11 point 1: never an existing file unless --force."""
    path = tmp_path / "report.json"
    make(path)
    with pytest.raises(BadInput, match=message):
        outputs.check_destination(str(path), "--report", False)


def test_force_replaces_a_file_but_never_a_folder_or_a_device(tmp_path):
    """Issue 11 point 1: --force replaces a regular file; a folder or a device never."""
    existing = tmp_path / "old.json"
    existing.write_text("old")
    assert outputs.check_destination(str(existing), "--report", True)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(BadInput, match="is a folder"):
        outputs.check_destination(str(folder), "--report", True)
    os.mkfifo(str(tmp_path / "fifo"))
    with pytest.raises(BadInput, match="not a regular file"):
        outputs.check_destination(str(tmp_path / "fifo"), "--report", True)


@pytest.mark.parametrize("relative, message", [
    ("missing/report.json", "folder .* does not exist"),
    ("file.txt/report.json", "is not a folder"),
])
def test_the_folder_must_exist_and_be_a_folder(tmp_path, relative, message):
    """Issue 11 point 1: a --report into a missing folder is refused before any work."""
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(BadInput, match=message):
        outputs.check_destination(str(tmp_path / relative), "--report", False)


def test_an_input_is_refused_by_any_name(tmp_path):
    """Issue 11 point 1: outputs are never an input, compared by device and inode."""
    image = tmp_path / "disk.img"
    image.write_bytes(b"disk")
    os.link(str(image), str(tmp_path / "hardlink.img"))
    os.symlink(str(image), str(tmp_path / "symlink.img"))
    inputs = {file_identity(os.stat(str(image))): "the image %s" % image}
    for name in ("disk.img", "hardlink.img", "symlink.img"):
        with pytest.raises(BadInput, match="an input of this command"):
            outputs.refuse_inputs(str(tmp_path / name), "--report", inputs)
    outputs.refuse_inputs(str(tmp_path / "new.json"), "--report", inputs)
    assert image.read_bytes() == b"disk"


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    os.symlink(str(tmp_path), str(tmp_path / "here"))
    with pytest.raises(BadInput, match="name the same file"):
        outputs.refuse_same_path({"--report": str(tmp_path / "x"), "--output": str(tmp_path / "here" / "x")})
    outputs.refuse_same_path({"--report": str(tmp_path / "x"), "--output": str(tmp_path / "y")})


def test_write_atomically_leaves_a_complete_file_with_the_usual_mode(tmp_path):
    path = str(tmp_path / "report.json")
    outputs.write_atomically(path, "{}\n", "--report", False)
    with open(path) as handle:
        assert handle.read() == "{}\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == outputs.new_file_mode()
    assert leftovers(tmp_path) == []


def test_a_file_that_appears_meanwhile_is_not_overwritten(tmp_path):
    """Without --force the report is published with link(), which never replaces a file."""
    path = tmp_path / "report.json"
    path.write_text("someone else's")
    with pytest.raises(outputs.DestinationTaken):
        outputs.write_atomically(str(path), "{}\n", "--report", False)
    assert path.read_text() == "someone else's"
    assert leftovers(tmp_path) == []
    outputs.write_atomically(str(path), "{}\n", "--report", True)
    assert path.read_text() == "{}\n"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text("old")

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        outputs.write_atomically(str(path), "{}\n", "--report", True)
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []
