"""ECS API flow control in the emulator (emulator/ratelimit.py): off by default; configured per
action (seed, backend, ``emulator serve --rate-limit``); a call over the limit is what the real SDK
sees from ECS, ``Throttling.User`` with HTTP 400, and changes nothing; buckets refill on the
virtual clock."""
import copy
import json

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.runtime import RuntimeOptions

from image_repair.emulator import server
from image_repair.emulator.ratelimit import DEFAULT_PER_SECOND, RateLimits, parse_spec
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.testing import ecs_client, mock_ecs

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"
ZONE = "cn-hangzhou-h"


def describe(client):
    return client.describe_disks_with_options(m.DescribeDisksRequest(region_id=R), RT)


def create(client, size=20):
    return client.create_disk_with_options(m.CreateDiskRequest(region_id=R, zone_id=ZONE, size=size,
                                                               disk_category="cloud_essd"), RT).body.disk_id


def throttled(call, *args):
    with pytest.raises((ClientException, ServerException)) as err:
        call(*args)
    assert (err.value.code, err.value.status_code) == ("Throttling.User", 400), err.value
    assert "Request was denied due to user flow control." in err.value.message


def test_flow_control_is_off_by_default():
    with mock_ecs(latency="manual") as backend:
        client = ecs_client(backend)
        for _ in range(60):
            describe(client)
        assert backend.rate_limits.limit_of("DescribeDisks") is None


def test_an_action_over_its_limit_is_throttled_until_its_bucket_refills_and_commits_nothing():
    with mock_ecs(latency="manual") as backend:
        client = ecs_client(backend)
        backend.rate_limits.set("CreateDisk", 2)
        before = set(backend.disks)
        first, second = create(client), create(client)
        throttled(create, client)
        throttled(create, client)
        assert set(backend.disks) - before == {first, second}     # refused: nothing created
        assert backend.call_counts()["CreateDisk"] == 4            # logged like any refused call
        assert [c.error_code for c in backend.calls if c.action == "CreateDisk"][-2:] == ["Throttling.User"] * 2
        for _ in range(5):
            describe(client)                                      # other actions: not limited
        backend.advance(0.5)
        create(client)                                            # one token back after half a second
        throttled(create, client)
        backend.advance(10)
        create(client), create(client)                            # a full bucket holds `burst`, no more
        throttled(create, client)


def test_every_action_limit_counts_each_action_apart_and_an_action_limit_overrides_it():
    limits = RateLimits()
    limits.configure(["3", "AttachDisk=1/2"])
    assert [limits.take("DescribeDisks", 0.0) for _ in range(4)] == [True, True, True, False]
    assert [limits.take("DescribeInstances", 0.0) for _ in range(4)] == [True, True, True, False]
    assert [limits.take("AttachDisk", 0.0) for _ in range(3)] == [True, True, False]
    assert limits.take("AttachDisk", 0.99) is False and limits.take("AttachDisk", 1.0) is True
    limits.configure([])
    assert all(limits.take("AttachDisk", 1.0) for _ in range(100))


def test_each_account_has_its_own_buckets():
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["accounts"].append({"access_key_id": "LTAIemulatorSecondKey", "access_key_secret": "secondSecret00000000000000000002",
                             "account_id": "2222222222222222"})
    seed["rate_limits"] = ["DescribeDisks=1"]
    with mock_ecs(seed=seed, latency="manual") as backend:
        first = ecs_client(backend)
        second = Client(Config(access_key_id="LTAIemulatorSecondKey", access_key_secret="secondSecret00000000000000000002",
                               region_id=R, endpoint="ecs.%s.aliyuncs.com" % R, protocol="HTTPS"))
        describe(first)
        throttled(describe, first)
        describe(second)                    # another account: its own bucket
        throttled(describe, second)


def test_specs_and_the_declared_default():
    assert parse_spec("default")[1].per_second == DEFAULT_PER_SECOND
    assert parse_spec("5") == ("*", parse_spec("5")[1]) and parse_spec("5")[1].burst == 5
    action, limit = parse_spec("CreateDisk=0.5/3")
    assert (action, limit.per_second, limit.burst) == ("CreateDisk", 0.5, 3)
    assert parse_spec("CreateDisk=0.5")[1].burst == 1       # at least one call at once
    for bad in ("", "fast", "0", "-1", "CreateDisk=", "createDisk=1", "Create Disk=1", "CreateDisk=1/0.5",
                "CreateDisk=1/x", "1e9"):
        with pytest.raises(ValueError, match="rate limit"):
            parse_spec(bad)
    with pytest.raises(ValueError):
        RateLimits().configure("5")


def test_a_seed_configures_flow_control_in_process_and_reset_refills():
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["rate_limits"] = ["DescribeDisks=1"]
    with mock_ecs(seed=seed, latency="manual") as backend:
        client = ecs_client(backend)
        describe(client)
        throttled(describe, client)
        backend.reset()
        describe(client)
        throttled(describe, client)
    seed["rate_limits"] = ["DescribeDisks=nope"]
    with pytest.raises(ValueError, match="rate limit"):
        with mock_ecs(seed=seed):
            pass


def test_the_served_emulator_takes_rate_limits_and_refuses_a_bad_one_in_one_line(capsys):
    assert server.main(["serve", "--port", "0", "--rate-limit", "CreateDisk=fast"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rate limit" in err and "Traceback" not in err


def test_served_flow_control_answers_the_sdk_over_http():
    backend = server.build_backend(None, server.latency_model("manual"))
    backend.rate_limits.add("DescribeDisks=1")
    with server.EmulatorServer(backend) as running:
        client = ecs_client(backend, endpoint=running.endpoint)
        assert json.loads(json.dumps(describe(client).body.to_map()))["TotalCount"] >= 0
        throttled(describe, client)
