"""The command line a new user meets (issue 14): help text on every option of every command, a
top-level usage generated from the parsers, one JSON argument type, and empty states that say
what to do."""
import argparse

import pytest

from image_repair import cli
from image_repair.cli import args as cli_args
from image_repair.cli import build_parser, main, summary


def walk(parser: argparse.ArgumentParser, path=()):
    """(command path, action) of every argument of every command of the tree, nested ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from walk(command, path + (name,))
        else:
            yield path, action


def without_help(parser: argparse.ArgumentParser) -> list:
    return ["image-repair %s %s" % (" ".join(path), "/".join(action.option_strings) or action.dest)
            for path, action in walk(parser)
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS]


def test_every_option_of_every_command_has_help():
    assert without_help(build_parser()) == []


def test_the_agents_own_commands_have_help_on_every_option():
    from image_repair.agent.cli import build_parser as agent_parser
    assert without_help(agent_parser()) == []


def test_the_walker_finds_an_option_without_help():
    """The check above can fail: an option added without help is named."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["list"].add_argument("--newest")
    assert without_help(parser) == ["image-repair list --newest"]


def test_the_usage_is_generated_from_the_parsers():
    """A command added to the tree shows up in ``image-repair --help`` with no string edited."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    added = sub.add_parser("frobnicate", help="frobnicate the store")
    added.add_argument("--hard", action="store_true", help="really")
    text = summary(parser)
    assert "  frobnicate [--hard]\n        frobnicate the store\n" in text
    for path, _ in walk(build_parser()):
        if path:
            assert "  %s " % " ".join(path) in text or "  %s\n" % " ".join(path) in text, path


def test_the_help_is_printed_with_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: image-repair COMMAND [options]")
    for command in ("check-disk", "repair-disk", "repair [", "status [--json] EXECUTION", "list", "sweep [",
                    "janitor [", "events deliver [", "build-agent", "emulator"):
        assert "  " + command in out, command


def test_every_json_option_has_the_shared_json_type():
    json_options = [(path, action) for path, action in walk(build_parser()) if action.metavar == "JSON"]
    assert {a.option_strings[0] for _, a in json_options} == {"--params", "--defaults", "--policy"}
    for path, action in walk(build_parser()):
        assert (action.type is cli_args.json_object) == (action.metavar == "JSON"), (path, action.option_strings)


@pytest.mark.parametrize("value, problem", [("{oops", "is not JSON"), ("[]", "must be a JSON object"),
                                            ('"text"', "must be a JSON object"), ("[" * 5000, "nested deeper")])
@pytest.mark.parametrize("argv", [["repair", "--params"], ["sweep", "--defaults"], ["sweep", "--policy"],
                                  ["events", "deliver", "-", "--defaults"], ["events", "deliver", "-", "--policy"]])
def test_a_bad_json_argument_is_one_line_and_exit_2(argv, value, problem, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    assert main(argv + [value]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "argument %s: " % argv[-1] in err and problem in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    path = tmp_path / "state.db"
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % path)
    return str(path)


def test_list_on_an_empty_store_says_so_and_how_to_start(empty_store, capsys):
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""                                   # stdout stays a clean listing
    assert "no executions in the store %s yet" % empty_store in captured.err
    assert "image-repair repair --image-file" in captured.err and "IMAGE_REPAIR_STORE" in captured.err


def test_status_of_an_unknown_execution_says_what_to_do(empty_store, capsys):
    assert main(["status", "repair-m-nothere-0"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "no execution repair-m-nothere-0 in the store %s" % empty_store in err
    assert "'image-repair list' shows the executions there" in err and "IMAGE_REPAIR_STORE" in err


def test_no_command_prints_the_usage_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("usage: image-repair COMMAND")


@pytest.mark.parametrize("argv", [["repair", "m-bp1emulatorbrokenimg01", "--endpoint", "127.0.0.1:9", "--time-scale", "0.5"],
                                  ["events", "deliver", "-", "--endpoint", "127.0.0.1:9", "--time-scale", "0.5"]])
def test_time_scale_without_a_local_cloud_is_refused_not_ignored(argv, empty_store, capsys):
    """--endpoint's pace is the emulator's own: a --time-scale there would be silently ignored."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--time-scale applies to --image-file only" in err
