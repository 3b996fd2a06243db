"""s.yaml as Serverless Devs 3 deploys it (read by js-yaml 4 itself, tests/unit/serverless_devs.py):
fc3 props valid against the component's schema, the flow's functions present with the right
handlers, every handler importable, one code package built for the runtime with every dependency,
the triggers' configurations. The parser: test_deployment_yaml.py; the flow resource and its
rendered definition: test_deployment_flow.py."""
import ast
import importlib
import json
import re
import sys
from importlib import metadata

import jsonschema
import pytest

from image_repair.control.flow import load_definition_file
from image_repair.control.steps import FUNCTIONS, START_FUNCTION
from image_repair.control.store.settings import store_settings_from_env
from tests.unit.serverless_devs import ACCOUNT, ROOT, flow_resources, fc3_functions, resolved_s_yaml

SCHEMA = ROOT / "tests" / "fixtures" / "fc3-props.schema.json"
DEFINITION = ROOT / "state_machine" / "repair_image.yaml"
# Parts of the package that never run in a function: the agent (stdlib only, runs in the guest),
# and what scripts/build-fc-package.sh leaves out: the CLI, the emulators and their test helpers
# (the lab is another package: src/image_repair_lab). tests/unit/test_packaging.py lists the package.
NOT_DEPLOYED = ("agent", "cli", "__main__.py", "emulator", "testing.py")
# Import names whose distribution name differs and that a listed requirement brings in.
IMPORT_ALIASES = {"yaml": "pyyaml", "darabonba": "darabonba-core"}


@pytest.fixture(scope="module")
def s_yaml():
    return resolved_s_yaml()


def flow_resource(s_yaml) -> dict:
    (flow,) = flow_resources(s_yaml).values()
    return flow


def test_edition_and_every_fc3_resource_validates_against_the_component_schema(s_yaml):
    assert s_yaml["edition"] == "3.0.0"
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    functions = fc3_functions(s_yaml)
    assert len(functions) >= len(FUNCTIONS) + 3
    for name, props in functions.items():
        problems = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(props)]
        assert problems == [], name
        assert props["runtime"] == "python3.10" and props["code"] == "./build/fc"
        assert re.fullmatch(r"acs:ram::%s:role/image-repair-fc" % ACCOUNT, props["role"])


def test_the_schema_copy_rejects_what_fc3_rejects():
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    good = {"region": "cn-hangzhou", "functionName": "f", "runtime": "python3.10", "code": "./c", "handler": "m.h"}
    assert validator.is_valid(good)
    for bad in ({k: v for k, v in good.items() if k != "handler"}, dict(good, region="cn-nowhere"),
                dict(good, runtime="python3.11"), dict(good, memorySize=100),
                dict(good, triggers=[{"triggerName": "t", "triggerType": "cron", "triggerConfig": {}}])):
        assert not validator.is_valid(bad)


# The schema's triggerConfig is an anyOf of every trigger type's config, loose enough that a timer
# config without its cronExpression passes: each trigger is also checked against its own type's.
TRIGGER_CONFIGS = {"timer": "ITimerTriggerConfig", "eventbridge": "IEventBridge"}


def test_every_trigger_config_validates_against_its_own_type(s_yaml):
    schema = json.loads(SCHEMA.read_text())
    triggers = [t for props in fc3_functions(s_yaml).values() for t in props.get("triggers", [])]
    assert sorted(t["triggerType"] for t in triggers) == ["eventbridge", "timer"]
    for trigger in triggers:
        definition = dict(schema["definitions"][TRIGGER_CONFIGS[trigger["triggerType"]]],
                          definitions=schema["definitions"])
        jsonschema.Draft7Validator(definition).validate(trigger["triggerConfig"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema["definitions"]["ITimerTriggerConfig"]).validate({"enable": True})


def test_every_flow_target_is_a_function_of_s_yaml_with_its_step_handler(s_yaml):
    functions = fc3_functions(s_yaml)
    definition = load_definition_file(str(DEFINITION), functions=set(functions))
    targets = {state.function for state in definition.states.values() if getattr(state, "function", None)}
    assert targets and targets <= set(functions)
    for name in targets:
        step = FUNCTIONS[name]
        assert functions[name]["handler"] == "image_repair.control.handlers.%s.handler" % step
    assert set(FUNCTIONS) <= set(functions)
    assert functions[START_FUNCTION]["handler"] == "image_repair.control.handlers.start.handler"
    assert functions["image-repair-events"]["handler"] == "image_repair.control.handlers.events.handler"
    assert functions["image-repair-sweep"]["handler"] == "image_repair.control.handlers.sweep.handler"


def test_every_handler_of_s_yaml_is_an_importable_callable(s_yaml):
    for name, props in fc3_functions(s_yaml).items():
        module_name, _, attribute = props["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute, None)
        assert callable(handler), "%s: %s is not callable" % (name, props["handler"])


def test_environment_names_the_store_and_the_flow(s_yaml):
    flow = flow_resource(s_yaml)["props"]
    for name, props in fc3_functions(s_yaml).items():
        env = props["environmentVariables"]
        assert env["IMAGE_REPAIR_FLOW_NAME"] == flow["name"]
        settings = store_settings_from_env(dict(env, FC_REGION=props["region"], ALIBABA_CLOUD_ACCESS_KEY_ID="id",
                                                ALIBABA_CLOUD_ACCESS_KEY_SECRET="secret"))
        assert settings.backend == "tablestore"
        # the endpoint is the store's instance in the functions' region
        assert settings.endpoint == "https://%s.%s.ots.aliyuncs.com" % (settings.instance, props["region"])
        assert env["IMAGE_REPAIR_LOG_LEVEL"] in ("DEBUG", "INFO", "WARNING", "ERROR")


def matches(pattern: dict, event: dict) -> bool:
    """EventBridge's pattern semantics for the forms used here: every key of the pattern is in the
    event; a list matches when the event's value is one of it; an object matches recursively."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[key], dict) or not matches(expected, event[key]):
                return False
        elif event[key] not in expected:
            return False
    return True


def actiontrail_event(event_name: str, source: str = "acs.ecs") -> dict:
    """An ActionTrail API-call CloudEvent as EventBridge delivers it (reference section 4)."""
    return {"id": "e-1", "source": source, "specversion": "1.0", "type": "ecs:ActionTrail:ApiCall",
            "subject": "acs:ecs:cn-hangzhou:%s:image/m-bp1abcdefgh12345" % ACCOUNT, "time": "2026-11-25T21:00:00Z",
            "aliyunaccountid": ACCOUNT, "aliyunregionid": "cn-hangzhou", "aliyuneventbusname": "default",
            "data": {"eventName": event_name, "serviceName": "Ecs", "acsRegion": "cn-hangzhou", "eventType": "ApiCall",
                     # CopyImage's copy is in DestinationRegionId (here the same region)
                     "requestParameters": {"RegionId": "cn-hangzhou", "DestinationRegionId": "cn-hangzhou"},
                     "responseElements": {"ImageId": "m-bp1abcdefgh12345", "RequestId": "r-1"}}}


def test_eventbridge_rule_delivers_exactly_the_calls_the_events_function_acts_on(s_yaml):
    from image_repair.control.triggers.events import IMAGE_MAKING_CALLS, as_cloud_event, image_request
    (trigger,) = [t for t in fc3_functions(s_yaml)["image-repair-events"]["triggers"] if t["triggerType"] == "eventbridge"]
    pattern = json.loads(trigger["triggerConfig"]["eventRuleFilterPattern"])
    assert sorted(pattern["data"]["eventName"]) == sorted(IMAGE_MAKING_CALLS)
    for name in IMAGE_MAKING_CALLS:
        event = actiontrail_event(name)
        assert matches(pattern, event)
        image_id, region, _ = image_request(as_cloud_event(event))     # the function takes it
        assert image_id == "m-bp1abcdefgh12345" and region == "cn-hangzhou"
    for other in (actiontrail_event("DeleteImage"), actiontrail_event("CreateImage", source="acs.rds"),
                  dict(actiontrail_event("CreateImage"), type="ecs:Snapshot:CreateSnapshotCompleted")):
        assert not matches(pattern, other)
    assert trigger["triggerConfig"]["eventSinkConfig"]["deliveryOption"]["eventSchema"] == "CloudEvents"


def third_party_imports() -> dict:
    """{top-level import name: [files]} of the deployed part of src/image_repair."""
    package = ROOT / "src" / "image_repair"
    found = {}
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if relative.parts[0] in NOT_DEPLOYED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "image_repair":
                    found.setdefault(top, []).append(str(relative))
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_closure(requirements) -> set:
    """The listed distributions and everything they depend on (as installed here)."""
    seen, todo = set(), [normalized(r) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" not in requirement:
                todo.append(normalized(re.split(r"[ ;<>=!~\[(]", requirement, 1)[0]))
    return seen


def test_the_function_requirements_cover_every_third_party_import():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-fc.txt").read_text().splitlines()]
    listed = [re.split(r"[ ;<>=!~\[]", line, 1)[0] for line in lines if line]
    assert listed, "requirements-fc.txt lists nothing"
    assert not {normalized(n) for n in listed} & {"pytest", "responses", "hypothesis", "vermin", "jsonschema"}
    closure = requirement_closure(listed)
    distributions = metadata.packages_distributions()
    for name, files in third_party_imports().items():
        candidates = {normalized(d) for d in distributions.get(name, [])} | {normalized(IMPORT_ALIASES.get(name, name))}
        assert candidates & closure, "%s (imported by %s) is not in requirements-fc.txt" % (name, files[0])


def test_the_build_script_installs_for_the_runtime_into_the_code_dir():
    script = (ROOT / "scripts" / "build-fc-package.sh").read_text()
    for needed in ("--target", "--python-version 3.10", "--platform manylinux2014_x86_64", "--only-binary=:all:",
                   "-r requirements-fc.txt", "OUT=${1:-build/fc}", "image_repair",
                   "compileall", "--invalidation-mode unchecked-hash", 'rm -rf "$OUT"/numpy '):
        assert needed in script


def test_the_timer_payload_is_the_sweeps_parameters(s_yaml):
    from image_repair.control.handlers.sweep import payload_of
    from image_repair.control.triggers.sweep import SweepPolicy
    (trigger,) = fc3_functions(s_yaml)["image-repair-sweep"]["triggers"]
    assert trigger["triggerType"] == "timer" and trigger["triggerConfig"]["enable"] is True
    assert isinstance(trigger["triggerConfig"]["payload"], str)
    delivered = {"triggerTime": "2026-11-25T21:17:00Z", "triggerName": trigger["triggerName"],
                 "payload": trigger["triggerConfig"]["payload"]}          # what FC's timer sends
    payload = payload_of(json.dumps(delivered).encode())
    assert payload["dryRun"] is False
    assert isinstance(payload["maxStarts"], int) and payload["maxStarts"] > 0
    SweepPolicy.model_validate(payload.get("policy") or {})


def test_the_start_defaults_of_events_and_sweep_make_a_valid_repair(s_yaml, monkeypatch):
    """The environment s.yaml gives the events and sweep functions, read by their own handlers."""
    from image_repair.control.launchers import fanout_launcher
    from image_repair.control.handlers.events import event_policy
    from image_repair.control.models import parse_request
    from image_repair.control.settings import Settings
    functions = fc3_functions(s_yaml)
    for name in ("image-repair-sweep", "image-repair-events"):
        settings = Settings.from_env(functions[name]["environmentVariables"])   # every variable typed and bounded
        defaults = settings.sweep_defaults if name == "image-repair-sweep" else settings.repair_defaults_for_events()
        assert {"zoneId", "instanceType", "securityGroupId", "vSwitchId"} <= set(defaults)
        request = parse_request(dict(defaults, regionId=functions[name]["region"], repairImageId="m-abcdefgh12345678"))
        assert request.zoneId.startswith(functions[name]["region"])
    events_env = functions["image-repair-events"]["environmentVariables"]
    assert event_policy(Settings.from_env(events_env)).riskLevels      # IMAGE_REPAIR_EVENT_POLICY parses
    sweep_env = functions["image-repair-sweep"]["environmentVariables"]
    assert Settings.from_env(sweep_env).janitor_ttl_hours > 0
    # the fan-out the sweep builds from its settings (no call is made), with what FC adds
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    function_env = dict(sweep_env, FC_REGION="cn-hangzhou")
    assert fanout_launcher(Settings.from_env(function_env), store=None).idempotent
    # fanout: fc-async needs nothing beyond what FC gives every function (FC 3.0: no service to name)
    fc = fanout_launcher(Settings.from_env(dict(function_env, IMAGE_REPAIR_FANOUT="fc-async", FC_ACCOUNT_ID="123456")),
                         store=None)
    assert fc.idempotent and fc.function_name == START_FUNCTION
    # fc-async invokes the start function as async tasks (x-fc-async-task-id: the execution id)
    assert fc3_functions(s_yaml)[START_FUNCTION]["asyncInvokeConfig"]["asyncTask"] is True


# `s <resource> invoke`: the fc3 component's invoke takes the event inline (-e/--event) or from a
# file (-f/--event-file) (devsapp/fc3 src/commands-help/invoke.ts @4ca1c1b); without a resource
# name, `s` runs the command on every resource of s.yaml.
INVOKE_EVENT_OPTIONS = {"-e", "--event", "-f", "--event-file"}
DOCUMENTED_COMMAND = re.compile(r"^\s{4,}s\s+(.+)$|`s ([^`]+)`", re.M)


def documented_s_commands() -> list:
    """Every `s ...` command of README.md and docs/*.md: code-block lines and inline code."""
    found = []
    for path in [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")):
        for match in DOCUMENTED_COMMAND.finditer(path.read_text()):
            found.append((path.name, (match.group(1) or match.group(2)).split("#")[0].split()))
    return found


def test_every_documented_s_invoke_names_a_function_resource_and_passes_the_event_as_fc3_takes_it(s_yaml):
    functions = {name for name, r in s_yaml["resources"].items() if r["component"] == "fc3"}
    invokes = [(doc, words) for doc, words in documented_s_commands() if "invoke" in words and len(words) > 1]
    assert {doc for doc, _ in invokes} >= {"README.md", "deploying.md"}
    for doc, words in invokes:
        assert words[0] in functions and words[1] == "invoke", (doc, words)
        assert words[2] in INVOKE_EVENT_OPTIONS, (doc, words)
