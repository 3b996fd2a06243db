"""Bad input is refused with exit status 2 and a clear message before any disk is looked at."""
import json

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
