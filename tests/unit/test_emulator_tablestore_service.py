"""Tablestore in the emulator's registry: one served emulator answers ECS, Tablestore and its clock
on one endpoint (the real SDKs of both over loopback HTTP), and in-process ``mock_ecs(tablestore=True)``
serves Tablestore on a loopback port beside ECS intercepted by ``responses`` (the ``tablestore``
SDK sends with urllib3, which ``responses`` does not see). Loopback sockets only: the unit layer."""
import json
import urllib.request

import pytest
import requests
from alibabacloud_ecs20140526 import models as m
from darabonba.runtime import RuntimeOptions
from tablestore import Row

from image_repair.control.store import StoreSettings, open_store, store_settings_from_env
from image_repair.emulator import LatencyModel, build_backend
from image_repair.emulator.clock_http import CLOCK_PATH
from image_repair.emulator.http_messages import HttpRequest
from image_repair.emulator.registry import Router, default_registry
from image_repair.emulator.server import EmulatorServer, tablestore_instances
from image_repair.emulator.tablestore import TablestoreBackend, TablestoreServer
from image_repair.emulator.tablestore.server import ots_client
from image_repair.testing import ecs_client, mock_ecs, mock_services, tablestore_store_env

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"


def test_one_served_emulator_answers_ecs_tablestore_and_its_clock():
    ecs = build_backend(latency=LatencyModel.named("manual"))
    ots = TablestoreBackend(clock=ecs.clock.now)
    with EmulatorServer(ecs, backends={"tablestore": ots}) as server:
        images = ecs_client(ecs, endpoint=server.endpoint).describe_images_with_options(
            m.DescribeImagesRequest(region_id=R, image_owner_alias="self"), RT).body
        assert images.total_count >= 1
        client = ots_client(ots, "http://" + server.endpoint)
        store = open_store(StoreSettings(backend="tablestore", instance="image-repair", table="state",
                                         endpoint="http://" + server.endpoint), clock=ecs.clock.now,
                           ots_client=client)
        execution, created = store.create_execution("exec-1", "m-1")
        assert created and store.get_execution("exec-1").source_image_id == "m-1"
        with urllib.request.urlopen("http://%s%s" % (server.endpoint, CLOCK_PATH), timeout=10) as answer:
            assert json.loads(answer.read())["now"] == ecs.clock.now()
    assert ecs.call_counts()["DescribeImages"] == 1
    assert [c.operation for c in ots.calls][:3] == ["DescribeTable", "CreateTable", "PutRow"]


def test_one_clock_moves_both_services():
    """The served command builds Tablestore on the ECS backend's clock: a cell's timestamp is the
    emulator's virtual time, the one /__emulator__/clock reports."""
    mock = mock_ecs(latency="manual", tablestore=True)
    with mock as backend:
        backend.advance(3600)
        client = ots_client(mock.tablestore, mock.tablestore_endpoint)
        client.create_table(*_table("t"))
        client.put_row("t", Row([("pk", "a")], [("v", 1)]))
        _, row, _ = client.get_row("t", [("pk", "a")], max_version=1)
        assert row.attribute_columns[0][2] == int(backend.clock.now() * 1000)


def test_in_process_tablestore_is_a_loopback_port_beside_intercepted_ecs():
    mock = mock_ecs(tablestore=True)
    with mock as backend:
        endpoint = mock.tablestore_endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        ecs_client(backend).describe_images_with_options(m.DescribeImagesRequest(region_id=R), RT)   # responses
        settings = store_settings_from_env(tablestore_store_env(endpoint))                  # the variables
        assert (settings.endpoint, settings.instance, settings.table) == (endpoint, "image-repair",
                                                                           "image_repair_state")
        store = open_store(settings)
        store.acquire_lock("m-1", "exec-1", ttl_s=60)
        assert store.get_lock("m-1").owner == "exec-1"
        store.close()
        # the Tablestore service is not intercepted inside requests: only its loopback port answers it
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post("https://image-repair.cn-hangzhou.ots.aliyuncs.com/ListTable", timeout=5)
    assert "PutRow" in [c.operation for c in mock.tablestore.calls]
    with pytest.raises(OSError):
        urllib.request.urlopen(endpoint + "/ListTable", data=b"", timeout=5)    # stopped with the block


def test_only_loopback_services_get_an_endpoint():
    with mock_services({"ecs": build_backend()}) as router:
        assert [s.name for s, _ in router.mounted] == ["ecs", "emulator"]
    services = mock_services({"ecs": build_backend()})
    with services:
        with pytest.raises(ValueError, match="'tablestore' is not served on a loopback port here"):
            services.endpoint("tablestore")


def test_the_router_sends_tablestore_hosts_and_operations_to_tablestore():
    router = Router({"ecs": build_backend(), "tablestore": TablestoreBackend()})
    for url in ("https://image-repair.cn-hangzhou.ots.aliyuncs.com/ListTable",
                "https://image-repair.cn-hangzhou.vpc.tablestore.aliyuncs.com/PutRow",
                "http://127.0.0.1:8765/GetRange"):
        assert router.route(HttpRequest("POST", url, {}))[0].name == "tablestore", url
    assert router.route(HttpRequest("POST", "http://127.0.0.1:8765/", {}))[0].name == "ecs"
    # an unsigned request reaches the Tablestore wire, which answers as the service does
    answer = router.handle(HttpRequest("POST", "http://127.0.0.1:8765/ListTable", {}))
    assert answer.status == 400 and answer.headers["x-ots-contenttype"] == "protocol buffer"
    # Tablestore is served, not intercepted by responses
    assert [s.name for s, _ in router.intercepted()] == ["ecs"]
    assert [s.name for s in default_registry() if s.in_process == "loopback"] == ["tablestore"]


def test_a_held_answer_through_the_shared_server_is_a_client_timeout_then_applied():
    """The served emulator holds a "hold" answer until the client hangs up (no delay guessed)."""
    with TablestoreServer() as server:
        client = server.client(socket_timeout=0.3)
        client.create_table(*_table("t"))
        server.backend.faults.lose_response("PutRow", "hold")
        with pytest.raises(Exception) as raised:
            client.put_row("t", Row([("pk", "a")], [("v", 1)]))
        assert "timed out" in str(raised.value).lower() or "timeout" in type(raised.value).__name__.lower()
        _, row, _ = client.get_row("t", [("pk", "a")], max_version=1)
        assert row is not None                       # applied before the answer was held


@pytest.mark.parametrize("names, expected", [([], ["image-repair"]), (["repairs", "other-1"], ["repairs", "other-1"])])
def test_served_instances(names, expected):
    assert tablestore_instances(names) == expected


@pytest.mark.parametrize("name", ["ab", "bad-", "9lives", "x" * 17, "under_score"])
def test_a_bad_instance_name_is_refused_naming_the_rule(name):
    with pytest.raises(ValueError, match="--tablestore-instance .*: an instance name has 3 to 16"):
        tablestore_instances([name])


def _table(name):
    from tablestore import CapacityUnit, ReservedThroughput, TableMeta, TableOptions
    return TableMeta(name, [("pk", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
