"""The control-plane commands refuse bad arguments before any work: one line on stderr, exit
status 2, no traceback, nothing written (issue 11 points 5, 9 and 11)."""
import os

import pytest

from image_repair.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A store and a cloud folder that a refused command must never create."""
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "IMAGE_REPAIR_ECS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 4096)
    (tmp_path / "delivery.json").write_text("[]")
    yield tmp_path
    assert not (tmp_path / "state.db").exists() and not (tmp_path / "cloud").exists()


def refused(argv, capsys) -> str:
    """Run ``image-repair ARGV`` in-process: exit 2 and one line on stderr; -> that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv", [["list"], ["status", "repair-m-x-0"], ["janitor", "--dry-run"]])
def test_a_bad_store_setting_is_a_clear_error(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", str(tmp_path / "state.db"))   # a path, not sqlite:///path
    assert "expected sqlite:///path or tablestore://instance/table" in refused(argv, capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["repair", "--params", "{oops"], "argument --params: the value is not JSON"),
    (["repair", "--params", "[1,2]"], "must be a JSON object, not an array"),
    (["repair", "--params", "[" * 10_000], "nested deeper"),
    (["repair", "--params", '{"a": "%s"}' % ("x" * 100_000)], "more than"),
    (["repair", "--image-file", "{w}/missing.img"], "No such file or directory"),
    (["repair", "--image-file", "{w}"], "is a folder, not a disk image file"),
    (["repair", "--image-file", "/dev/null"], "not a regular file"),
    (["events", "deliver", "{w}/delivery.json", "--defaults", "{bad"], "argument --defaults: the value is not JSON"),
    (["events", "deliver", "{w}/delivery.json", "--policy", "[]"], "argument --policy"),
    (["events", "deliver", "{w}/missing.json", "--endpoint", "127.0.0.1:9"], "cannot read the delivery"),
    (["sweep", "--defaults", "{bad"], "argument --defaults: the value is not JSON"),
    (["sweep", "--policy", '{"items": ["nope"]}'], "bad --policy: items: unknown repair items"),
    (["repair", "m-bp1emulatorbrokenimg01"], "MissingCredentials"),
    (["repair", "--zone", "cn-" + "a" * 100_000], "longer than 128 characters"),
    (["repair", "--endpoint", "not an endpoint"], "is not HOST:PORT"),
    (["repair", "--image-file", "{w}/disk.img", "--cloud-dir", "{w}/disk.img"], "is not a folder"),
    (["status", "x" * 1_000_000], "longer than 128 characters"),
    (["repair", "--bogus"], "unrecognized arguments"),
    (["nonsense"], "invalid choice"),
])
def test_bad_arguments_are_one_line_and_exit_2(workdir, capsys, argv, message):
    """Issue 11 point 11: no JSONDecodeError, qemu-img RuntimeError or CloudError traceback."""
    argv = [a.replace("{w}", str(workdir)) for a in argv]
    err = refused(argv, capsys)
    assert message in err and len(err) < 500


@pytest.mark.parametrize("argv", [
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "-1"],      # crashed after RunInstances
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "0"],       # timed out in 2 s
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "nan"],
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "inf"],
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "2"],
    ["repair", "--image-file", "{w}/disk.img", "--time-scale", "fast"],
    ["repair", "--image-file", "{w}/disk.img", "--retry", "-1"],
    ["repair", "--image-file", "{w}/disk.img", "--retry", "100"],
    ["events", "deliver", "{w}/delivery.json", "--time-scale", "-1"],
    ["sweep", "--max-starts", "-1"],
    ["sweep", "--max-starts", "1001"],
    ["sweep", "--max-starts", "1.5"],
    ["janitor", "--ttl", "-5"],
    ["janitor", "--ttl", "0"],
    ["janitor", "--ttl", "1e9"],
    ["emulator", "serve", "--port", "99999999"],
])
def test_numeric_options_are_checked_before_any_work(workdir, capsys, argv):
    """Issue 11 point 9: every numeric option is typed and bounded by its parser."""
    err = refused([a.replace("{w}", str(workdir)) for a in argv], capsys)
    assert "out of range" in err or "is not" in err


def test_output_never_overwrites_an_existing_file(workdir, capsys):
    """Issue 11 point 5: --output EXISTING is refused before any work (it was overwritten)."""
    existing = workdir / "keep.img"
    existing.write_bytes(b"precious")
    err = refused(["repair", "--image-file", str(workdir / "disk.img"), "--output", str(existing)], capsys)
    assert "already exists: refusing to overwrite it" in err
    assert existing.read_bytes() == b"precious"


def test_output_into_a_missing_folder_is_refused_before_any_work(workdir, capsys):
    """Issue 11 point 5: it failed only after the whole workflow ran."""
    err = refused(["repair", "--image-file", str(workdir / "disk.img"), "--output", str(workdir / "no" / "x.img")],
                  capsys)
    assert "does not exist" in err


@pytest.mark.parametrize("alias", ["hardlink", "symlink", "same"])
def test_output_is_never_the_input_even_with_force(workdir, capsys, alias):
    """Issue 11 point 5: the input is recognised by device and inode, whatever the path."""
    image = workdir / "disk.img"
    target = {"same": image, "hardlink": workdir / "link.img", "symlink": workdir / "sym.img"}[alias]
    if alias == "hardlink":
        os.link(image, target)
    elif alias == "symlink":
        target.symlink_to(image)
    err = refused(["repair", "--image-file", str(image), "--output", str(target), "--force"], capsys)
    assert "is the input" in err and "same device and inode" in err
    assert image.read_bytes() == b"\0" * 4096


@pytest.mark.parametrize("argv, message", [
    (["repair", "m-bp1emulatorbrokenimg01", "--output", "{w}/new.img"], "--output needs --image-file"),
    (["repair", "--image-file", "{w}/disk.img", "--output", "{w}/new.img", "--dry-run"], "not a dry run"),
    (["repair", "--image-file", "{w}/disk.img", "--output", "{w}/new.img", "--params", '{"dryRun": true}'],
     "not a dry run"),
    (["repair", "--image-file", "{w}/disk.img", "--force"], "--force applies to --output only"),
    (["repair", "m-bp1emulatorbrokenimg01", "--image-file", "{w}/disk.img"], "not IMAGE_ID and --image-file"),
])
def test_arguments_that_depend_on_one_another(workdir, capsys, argv, message):
    err = refused([a.replace("{w}", str(workdir)) for a in argv], capsys)
    assert message in err
    assert not (workdir / "new.img").exists()
