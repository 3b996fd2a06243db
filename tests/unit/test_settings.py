"""One settings object (control/settings.py): every variable typed, bounded and documented, read
once per process at its entry point, a bad value one error naming the variable, and no other
module of the control plane reading the environment."""
import json
import re
from pathlib import Path

import pytest

from image_repair.cli import main
from image_repair.control.settings import JANITOR_TTL_HOURS, VARIABLES, Settings, SettingsError
from image_repair.control.handlers import fc
from image_repair.control.steps.runner import HandlerError
from image_repair.control.triggers.janitor import MAX_TTL_HOURS, MIN_TTL_HOURS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "image_repair"
# The modules that may read os.environ, and why (the agent, on the repair host, has its own few).
ENVIRONMENT_READERS = {
    "control/settings.py": "the settings object itself",
    "control/cloud_config.py": "credentials: the SDKs' chain, read at call time",
    "control/store/settings.py": "the store's parser's default (its callers pass the settings' snapshot)",
    "control/logs.py": "redaction: the values of credential variables are masked in log lines",
}
# Documented variables read by another parser than Settings' own fields.
READ_ELSEWHERE = {"IMAGE_REPAIR_STORE": "control/store/settings.py", "TABLESTORE_ENDPOINT": "control/store/settings.py",
                  "XDG_STATE_HOME": "control/store/settings.py", "ALIBABA_CLOUD_ACCESS_KEY_ID": "control/cloud_config.py",
                  "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "control/cloud_config.py",
                  "ALIBABA_CLOUD_SECURITY_TOKEN": "control/cloud_config.py"}


def documented_variables() -> set:
    text = (ROOT / "docs" / "deploying.md").read_text()
    section = text.split("### Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_variable_is_documented_in_one_table_and_every_documented_one_is_read():
    aliases = set(VARIABLES.values())
    documented = documented_variables()
    assert aliases - documented == set(), "add these to docs/deploying.md's table"
    for name in documented - aliases:
        assert name in READ_ELSEWHERE, "%s is documented but nothing reads it" % name
        assert name in (PACKAGE / READ_ELSEWHERE[name]).read_text()


def test_only_the_named_modules_read_the_environment():
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("agent/"):
            continue
        if re.search(r"os\.environ|getenv\(", path.read_text()):
            readers.add(relative)
    assert readers <= set(ENVIRONMENT_READERS), readers - set(ENVIRONMENT_READERS)


def test_nothing_writes_the_environment():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"os\.environ\[[^]]+\]\s*=|os\.environ\.(update|setdefault|pop)\(|os\.putenv", text), path


@pytest.mark.parametrize("variable, value, problem", [
    ("IMAGE_REPAIR_JANITOR_TTL_HOURS", "0.5", "greater than or equal to 1"),
    ("IMAGE_REPAIR_JANITOR_TTL_HOURS", "nan", "finite"),
    ("IMAGE_REPAIR_JANITOR_TTL_HOURS", "six", "valid number"),
    ("IMAGE_REPAIR_SWEEP_DEFAULTS", "[1]", "must be a JSON object"),
    ("IMAGE_REPAIR_EVENT_DEFAULTS", "{oops", "not JSON"),
    ("IMAGE_REPAIR_EVENT_POLICY", "{" * 70_000, "at most 65536"),
    ("IMAGE_REPAIR_FANOUT", "sqs", "'cloudflow' or 'fc-async'"),
    ("IMAGE_REPAIR_LOG_LEVEL", "LOUD", "'DEBUG', 'INFO'"),
    ("IMAGE_REPAIR_ECS_ENDPOINT", "not an endpoint", "pattern"),
    ("IMAGE_REPAIR_FLOW_NAME", "a/b", "pattern"),
    ("FC_ACCOUNT_ID", "12ab", "pattern"),
    ("IMAGE_REPAIR_MIRROR_URL", "http://x/ y", "pattern"),
    ("IMAGE_REPAIR_DEBUG", "maybe", "boolean"),
])
def test_a_bad_value_is_one_error_naming_the_variable(variable, value, problem):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value, "FC_REGION": "cn-hangzhou"})
    message = str(caught.value)
    assert caught.value.variable == variable and message.startswith(variable + ": ")
    assert problem in message and "\n" not in message and len(message) < 500, message


def test_values_are_typed_and_empty_ones_are_unset():
    settings = Settings.from_env({"IMAGE_REPAIR_JANITOR_TTL_HOURS": "12", "IMAGE_REPAIR_LOG_LEVEL": "debug",
                                  "IMAGE_REPAIR_SWEEP_DEFAULTS": '{"zoneId": "cn-hangzhou-h"}',
                                  "IMAGE_REPAIR_FLOW_NAME": "", "IMAGE_REPAIR_FANOUT": " ", "IMAGE_REPAIR_DEBUG": "1"})
    assert settings.janitor_ttl_hours == 12.0 and settings.log_level == "DEBUG" and settings.debug is True
    assert settings.sweep_defaults == {"zoneId": "cn-hangzhou-h"}
    assert settings.repair_defaults_for_events() == {"zoneId": "cn-hangzhou-h"}     # the sweep's, for events
    assert settings.flow_name is None and settings.fanout == "cloudflow"


def test_the_janitor_bound_is_the_payloads():
    assert JANITOR_TTL_HOURS == (MIN_TTL_HOURS, MAX_TTL_HOURS)
    assert Settings.from_env({"IMAGE_REPAIR_JANITOR_TTL_HOURS": str(MAX_TTL_HOURS)}).janitor_ttl_hours == MAX_TTL_HOURS
    with pytest.raises(SettingsError, match="less than or equal to %s" % MAX_TTL_HOURS):
        Settings.from_env({"IMAGE_REPAIR_JANITOR_TTL_HOURS": str(MAX_TTL_HOURS + 1)})


def test_credentials_stay_out_of_the_settings():
    settings = Settings.from_env({"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIexample", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3cret",
                                  "ALIBABA_CLOUD_SECURITY_TOKEN": "token", "IMAGE_REPAIR_STORE": "sqlite:///tmp/x.db"})
    assert "s3cret" not in repr(settings) and "s3cret" not in json.dumps(settings.store_variables)
    assert "LTAIexample" not in json.dumps(settings.store_variables)
    assert settings.store_settings().sqlite_path == "/tmp/x.db"       # the store's own parser, over the snapshot


def test_a_function_reads_its_settings_once_per_container(monkeypatch):
    monkeypatch.setenv("IMAGE_REPAIR_FLOW_NAME", "first")
    assert fc.function_settings().flow_name == "first"
    monkeypatch.setenv("IMAGE_REPAIR_FLOW_NAME", "second")
    assert fc.function_settings().flow_name == "first"           # the same container: read once
    fc.use_ports(None)                                               # a new container
    assert fc.function_settings().flow_name == "second"


def test_a_function_with_a_bad_variable_answers_invalid_configuration(monkeypatch):
    from image_repair.control.handlers.start import handler
    monkeypatch.setenv("IMAGE_REPAIR_FANOUT", "sqs")
    with pytest.raises(HandlerError) as caught:
        handler(b"{}")
    assert caught.value.code == "InvalidConfiguration" and "IMAGE_REPAIR_FANOUT" in str(caught.value)


@pytest.mark.parametrize("argv", [["list"], ["status", "repair-m-x-0"], ["sweep", "--dry-run"]])
def test_a_command_with_a_bad_variable_exits_2_naming_it(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    monkeypatch.setenv("IMAGE_REPAIR_SWEEP_DEFAULTS", "[not an object]")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("image-repair %s: IMAGE_REPAIR_SWEEP_DEFAULTS: " % argv[0]) and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []                            # nothing opened, nothing written


def test_every_function_environment_of_s_yaml_is_valid_within_function_computes_rules():
    """s.yaml's variables parse as settings, and keep to FC's rules for environment variables: a
    key starts with a letter (letters, digits, underscores), FC_* is reserved, 4 KB in all
    (https://www.alibabacloud.com/help/en/functioncompute/fc/environment-variables)."""
    from tests.unit.serverless_devs import fc3_functions, resolved_s_yaml
    for name, props in fc3_functions(resolved_s_yaml()).items():
        env = props.get("environmentVariables") or {}
        Settings.from_env(env)
        for key in env:
            assert re.match(r"^[A-Za-z][A-Za-z0-9_]*$", key) and not key.startswith("FC_"), (name, key)
        assert sum(len(key.encode()) + len(str(value).encode()) for key, value in env.items()) <= 4096, name
