"""Bad input is refused with exit status 2 and a clear message before any disk is looked at."""
import json
import re

import pytest

from image_repair.agent import cli
from image_repair.agent.errors import BadInput
from image_repair.agent.items import ITEM_NAMES, parse_item_list


@pytest.mark.parametrize("value, expected, auto", [
    ("all", list(ITEM_NAMES), False),
    ("auto", list(ITEM_NAMES), True),
    ("virtio,fstab", ["fstab", "virtio"], False),
    ("virtio fstab", ["fstab", "virtio"], False),
    (["nvme", "grub"], ["grub", "nvme"], False),
    (None, list(ITEM_NAMES), True),
])
def test_item_lists(value, expected, auto):
    assert parse_item_list(value) == (expected, auto)


@pytest.mark.parametrize("value, message", [
    ("virtio,bogus", "unknown repair item"),
    ("", "no repair items"),
    ("all,virtio", "cannot be combined"),
    (42, "must be a list"),
    ([1], "must be strings"),
])
def test_bad_item_lists(value, message):
    with pytest.raises(BadInput, match=message):
        parse_item_list(value)


@pytest.mark.parametrize("argv, message", [
    (["repair-disk", "--items", "bogus", "/nonexistent"], "unknown repair item"),
    (["repair-disk", "--params", "{not json", "/nonexistent"], "not valid JSON"),
    (["repair-disk", "--params", '{"colour": "red"}', "/nonexistent"], "unknown parameter"),
    (["repair-disk", "--params", '{"dryRun": "yes"}', "/nonexistent"], "dryRun must be true or false"),
    (["repair-disk", "--params", "[1]", "/nonexistent"], "must be a JSON object"),
    (["check-disk"], "exactly one of a disk PATH or --serial"),
    (["check-disk", "--bogus-flag", "x"], "unrecognized arguments"),
])
def test_bad_input_exits_2(argv, message, capsys):
    status = cli.main(argv + ["--json"])
    captured = capsys.readouterr()
    assert status == 2
    assert message in captured.out + captured.err
    if captured.out.strip().startswith("{"):
        report = json.loads(captured.out)
        assert report["exit_status"] == 2 and report["items"] == []


def test_a_refusal_is_one_line_on_stderr(capsys):
    status = cli.main(["repair-disk", "--items", "bogus", "/nonexistent"])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("image-repair: error: unknown repair item")


def test_a_refused_check_does_not_write_its_report_over_the_image(tmp_path, capsys):
    """Issue 11 point 1: `check-disk x.img --items virtoi --report x.img` exited 2 and left x.img
    as 353 bytes of JSON."""
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 4096)
    assert cli.main(["check-disk", str(image), "--items", "virtoi", "--report", str(image)]) == 2
    assert image.read_bytes() == b"\0" * 4096
    assert cli.main(["check-disk", str(image), "--items", "virtoi", "--report", str(tmp_path / "new.json")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.img"]


@pytest.mark.parametrize("report, message", [
    ("missing/report.json", "folder .*missing does not exist"),
    ("x.img", "already exists"),
    (".", "is a folder"),
])
def test_a_bad_report_path_is_refused_before_the_disk_is_looked_at(tmp_path, capsys, report, message):
    """Issue 11 point 1: a --report into a missing folder repaired the disk first, then failed with
    a traceback; the report path is now checked before any work (here the disk path is not even a
    disk: the report's error comes first)."""
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 4096)
    assert cli.main(["repair-disk", str(image), "--report", str(tmp_path / report)]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err
    assert image.read_bytes() == b"\0" * 4096
