"""Start parameters: the seed's names, validation with clear errors, deterministic execution ids."""
import pytest

from image_repair.agent.items import SEED_DEFAULT
from image_repair.control.models import FlowEvent, FlowState, InvalidRequest, parse_request

GOOD = {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-h", "repairImageId": "m-bp1emulatorbrokenimg01",
        "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1emulator0000000000",
        "vSwitchId": "vsw-bp1emulator00000000h"}


def test_defaults_follow_the_seed_template():
    request = parse_request(GOOD)
    assert request.repairItems == list(SEED_DEFAULT) or set(request.repairItems) == set(SEED_DEFAULT)
    assert request.systemDiskCategory == "cloud_essd" and request.engine == "agent"
    assert request.allowPartial is False and request.dryRun is False and request.baseImageId is None


@pytest.mark.parametrize("items, expected", [
    ("auto", ["auto"]), (["auto"], ["auto"]), ("virtio,fstab", ["fstab", "virtio"]),
    (["grub", "dhcp"], ["grub", "dhcp"]), ("all", None)])
def test_repair_items_forms(items, expected):
    request = parse_request(dict(GOOD, repairItems=items))
    if expected is None:
        assert len(request.repairItems) == 10
    else:
        assert request.repairItems == expected


@pytest.mark.parametrize("change, message", [
    ({"repairImageId": "img-123"}, "repairImageId: 'img-123' is malformed"),
    ({"repairImageId": None}, "repairImageId: missing"),
    ({"securityGroupId": "sg_1"}, "securityGroupId: 'sg_1' is malformed"),
    ({"vSwitchId": "vpc-bp1emulator000"}, "vSwitchId"),
    ({"instanceType": "g7.large"}, "instanceType"),
    ({"repairItems": ["virtio", "floppy"]}, "unknown repair item(s): floppy"),
    ({"repairItems": "auto virtio"}, "cannot be combined"),
    ({"engine": "magic"}, "engine"),
    ({"systemDiskCategory": "ssd"}, "systemDiskCategory"),
    ({"repairImageID": "m-bp1emulatorbrokenimg01"}, "repairImageID: unknown parameter"),
    ({"engine": "alibaba", "dryRun": True}, "dryRun needs engine 'agent'"),
])
def test_bad_parameters_are_named(change, message):
    raw = dict(GOOD)
    for key, value in change.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    with pytest.raises(InvalidRequest) as info:
        parse_request(raw)
    assert message in str(info.value)
    assert info.value.code == "InvalidInput"


def test_missing_everything_lists_every_required_parameter():
    with pytest.raises(InvalidRequest) as info:
        parse_request({})
    for name in ("regionId", "zoneId", "repairImageId", "instanceType", "securityGroupId", "vSwitchId"):
        assert "%s: missing" % name in str(info.value)


def test_json_text_and_not_an_object():
    assert parse_request(__import__("json").dumps(GOOD)).repairImageId == GOOD["repairImageId"]
    with pytest.raises(InvalidRequest, match="not JSON"):
        parse_request(b"{nope")
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse_request("[1]")


def test_execution_id_is_deterministic_and_depends_on_every_parameter():
    a, b = parse_request(GOOD), parse_request(dict(GOOD))
    assert a.execution_id() == b.execution_id()
    assert a.execution_id().startswith("repair-m-bp1emulatorbrokenimg01-")
    assert parse_request(dict(GOOD, repairItems="auto")).execution_id() != a.execution_id()
    assert len(a.execution_id()) <= 128


def test_a_retry_is_a_new_execution_and_retry_0_keeps_the_plain_id():
    plain = parse_request(GOOD).execution_id()
    assert parse_request(dict(GOOD, retry=0)).execution_id() == plain
    first, again = parse_request(dict(GOOD, retry=1)), parse_request(dict(GOOD, retry=1))
    assert first.execution_id() == again.execution_id() != plain
    assert parse_request(dict(GOOD, retry=2)).execution_id() not in (plain, first.execution_id())
    with pytest.raises(InvalidRequest, match="retry"):
        parse_request(dict(GOOD, retry=-1))


def test_region_default_is_overridden_by_the_request():
    assert parse_request(dict(GOOD), {"regionId": "cn-beijing"}).regionId == "cn-hangzhou"
    raw = dict(GOOD)
    raw.pop("regionId")
    assert parse_request(raw, {"regionId": "cn-beijing"}).regionId == "cn-beijing"


def test_flow_models_are_small_and_tolerant():
    state = FlowState(executionId="e1", ready=False, attempt=3, waitSeconds=20)
    # every field the flow's constructors read, none more (the flow's data stays far under 64 KiB)
    assert set(state.model_dump()) == {
        "executionId", "step", "ready", "attempt", "waitSeconds", "waitingFor", "failed", "healthy", "retry",
        "retries", "errorCode", "errorDetail", "resume", "resumeState", "incomplete", "imageId", "status",
        "itemsAtRiskBefore", "itemsAtRiskAfter"}
    assert len(state.model_dump_json()) < 1024
    event = FlowEvent.model_validate({"executionId": "e1", "attempt": 2, "extra": 1, "errorCode": None})
    assert event.attempt == 2 and event.errorCode is None


# ---- issue 11, point 12: every start parameter bounded, every bad value quoted by a short prefix ----
@pytest.mark.parametrize("field, value", [
    ("zoneId", "cn-" + "a" * 100_000),                 # 100 KB: matched the zone pattern, was recorded
    ("instanceType", "ecs." + "g" * 1_000_000 + ".large"),   # 1 MB: was sent to RunInstances
    ("regionId", "cn-" + "b" * 200),
    ("repairImageId", "m-" + "x" * 5_000_000),         # 5 MB: made a 5 MB error message
    ("baseImageId", "aliyun_" + "3" * 300),
    ("securityGroupId", "sg-" + "0" * 300),
    ("vSwitchId", "vsw-" + "0" * 300),
])
def test_every_id_is_bounded_and_its_error_quotes_a_short_prefix(field, value):
    """Issue 11 point 12: ids over 128 characters are refused, and the message stays short."""
    with pytest.raises(InvalidRequest) as info:
        parse_request(dict(GOOD, **{field: value}))
    message = str(info.value)
    assert field in message and ("too long" in message or "malformed" in message)
    assert len(message) < 400 and "\n" not in message
    assert "(%d characters)" % len(value) in message           # the length is named, the value is not


def test_ids_at_the_bound_are_accepted():
    """Issue 11 point 12: the bound is 128 characters (the issue's), not less."""
    assert len(parse_request(dict(GOOD, zoneId="cn-" + "h" * 125)).zoneId) == 128
    assert len(parse_request(dict(GOOD, instanceType="ecs." + "g" * 118 + ".large")).instanceType) == 128


@pytest.mark.parametrize("change", [
    {"x" * 100_000: 1},                                              # an unknown 100 KB parameter name
    {"repairItems": ["virtio"] * 10_000},                            # a huge list of items
    {"repairItems": "virtio," * 100_000},                            # a huge item string
    {"repairItems": ["warp" * 50_000]},                              # a huge unknown item
    {"watch": True, "policy": {"items": ["q" * 500_000]}},           # a huge unknown policy item
    {"watch": True, "policy": {"items": ["dhcp"] * 10_000}},
    dict(("unknown%d" % n, n) for n in range(5000)),                # 5000 problems
])
def test_messages_stay_short_whatever_the_input(change):
    """Issue 11 point 12: describe_validation_error names at most 10 problems, each shortened."""
    with pytest.raises(InvalidRequest) as info:
        parse_request(dict(GOOD, **change))
    assert len(str(info.value)) < 2000 and "\n" not in str(info.value)


def test_a_value_with_newlines_is_quoted_on_one_line():
    """Issue 11 point 11: one line, whatever the value holds."""
    with pytest.raises(InvalidRequest) as info:
        parse_request(dict(GOOD, zoneId="cn-\nhangzhou\r\x00"))
    assert "\n" not in str(info.value) and "\\n" in str(info.value)


@pytest.mark.parametrize("body, message", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100_000, "more than"),                       # 100 KB: over the size bound
    (b"[" * 1000, "nested deeper"),                      # would raise RecursionError in json
    (b'{"policy": ' * 20 + b"1" + b"}" * 20, "nested deeper"),
    (b"{" + b'"a": 1, ' * 20_000 + b'"b": 2}', "more than"),
    (b"{nope", "not JSON"),
    (b"[1, 2]", "must be a JSON object"),
])
def test_start_text_is_bounded_before_it_is_parsed(body, message):
    """Issue 11 points 11-12: non-UTF-8, deep, huge or non-object text is InvalidRequest, one line."""
    with pytest.raises(InvalidRequest, match=message) as info:
        parse_request(body)
    assert len(str(info.value)) < 300
