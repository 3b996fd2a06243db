"""The Tablestore adapter's own concerns (table creation, error mapping) and the honesty of the
in-memory OTSClient fake the contract suite relies on: its conditions behave as the service's."""
import pytest
from tablestore import (CapacityUnit, ComparatorType, CompositeColumnCondition, Condition, Direction, INF_MAX,
                        INF_MIN, LogicalOperator, OTSServiceError, ReservedThroughput, Row, RowExistenceExpectation,
                        SingleColumnCondition, TableMeta, TableOptions)

from image_repair.control.store import open_store, StoreSettings
from tests.fakes.ots import FakeOTSClient
from image_repair.control.store.tablestore import TablestoreStore

IGNORE, EXIST, NOT_EXIST = (RowExistenceExpectation.IGNORE, RowExistenceExpectation.EXPECT_EXIST,
                            RowExistenceExpectation.EXPECT_NOT_EXIST)


@pytest.fixture
def client():
    client = FakeOTSClient()
    client.create_table(TableMeta("t", [("pk", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0)))
    return client


def code_of(call, *args):
    with pytest.raises(OTSServiceError) as raised:
        call(*args)
    return raised.value.code


def column(client, name):
    _, row, _ = client.get_row("t", [("pk", "a")])
    return None if row is None else {c[0]: c[1] for c in row.attribute_columns}.get(name)


def test_row_existence_expectations(client):
    assert code_of(client.update_row, "t", Row([("pk", "a")], {"put": [("v", 1)]}), Condition(EXIST)) \
        == "OTSConditionCheckFail"
    client.put_row("t", Row([("pk", "a")], [("v", 1)]), Condition(NOT_EXIST))
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("v", 2)]), Condition(NOT_EXIST)) == "OTSConditionCheckFail"
    client.update_row("t", Row([("pk", "a")], {"put": [("v", 3)]}), Condition(EXIST))
    assert column(client, "v") == 3
    client.delete_row("t", Row([("pk", "a")]), Condition(EXIST))
    assert code_of(client.delete_row, "t", Row([("pk", "a")]), Condition(EXIST)) == "OTSConditionCheckFail"
    client.delete_row("t", Row([("pk", "a")]), Condition(IGNORE))   # gone already: IGNORE passes


def test_single_column_conditions_and_pass_if_missing(client):
    missing_ok = SingleColumnCondition("n", 5, ComparatorType.LESS_EQUAL, pass_if_missing=True)
    missing_fails = SingleColumnCondition("n", 5, ComparatorType.LESS_EQUAL, pass_if_missing=False)
    # An absent row has no column: pass_if_missing decides.
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 9)]), Condition(IGNORE, missing_fails)) \
        == "OTSConditionCheckFail"
    client.put_row("t", Row([("pk", "a")], [("n", 9)]), Condition(IGNORE, missing_ok))
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 1)]), Condition(IGNORE, missing_ok)) \
        == "OTSConditionCheckFail"       # 9 <= 5 is false
    client.put_row("t", Row([("pk", "a")], [("n", 1)]), Condition(IGNORE, SingleColumnCondition(
        "n", 9, ComparatorType.EQUAL)))
    assert column(client, "n") == 1
    # Values of another type never compare equal (Tablestore compares one type only).
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 2)]), Condition(IGNORE, SingleColumnCondition(
        "n", "1", ComparatorType.EQUAL))) == "OTSConditionCheckFail"


def test_composite_conditions(client):
    client.put_row("t", Row([("pk", "a")], [("owner", "x"), ("exp", 100)]))

    def either(owner, now):
        condition = CompositeColumnCondition(LogicalOperator.OR)
        condition.add_sub_condition(SingleColumnCondition("exp", now, ComparatorType.LESS_EQUAL))
        condition.add_sub_condition(SingleColumnCondition("owner", owner, ComparatorType.EQUAL, pass_if_missing=False))
        return Condition(IGNORE, condition)
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("owner", "y"), ("exp", 200)]), either("y", 50)) \
        == "OTSConditionCheckFail"
    client.put_row("t", Row([("pk", "a")], [("owner", "x"), ("exp", 150)]), either("x", 50))   # owner matches
    client.put_row("t", Row([("pk", "a")], [("owner", "y"), ("exp", 300)]), either("y", 150))  # expired
    assert column(client, "owner") == "y"
    negation = CompositeColumnCondition(LogicalOperator.NOT)
    negation.add_sub_condition(SingleColumnCondition("owner", "y", ComparatorType.EQUAL))
    assert code_of(client.delete_row, "t", Row([("pk", "a")]), Condition(EXIST, negation)) == "OTSConditionCheckFail"
    both = CompositeColumnCondition(LogicalOperator.AND)
    both.add_sub_condition(SingleColumnCondition("owner", "y", ComparatorType.EQUAL))
    both.add_sub_condition(SingleColumnCondition("exp", 300, ComparatorType.EQUAL))
    client.delete_row("t", Row([("pk", "a")]), Condition(EXIST, both))
    assert column(client, "owner") is None


def test_service_errors_for_bad_requests(client):
    assert code_of(client.get_row, "missing", [("pk", "a")]) == "OTSObjectNotExist"
    assert code_of(client.get_row, "t", [("id", "a")]) == "OTSParameterInvalid"
    assert code_of(client.get_row, "t", [("pk", 1)]) == "OTSParameterInvalid"
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("v", None)])) == "OTSParameterInvalid"
    assert code_of(client.create_table, TableMeta("t", [("pk", "STRING")]), TableOptions(),
                   ReservedThroughput(CapacityUnit(0, 0))) == "OTSObjectAlreadyExist"


def test_update_row_operations_and_range_pages(client):
    client.update_row("t", Row([("pk", "a")], {"put": [("c", 1), ("d", "x")]}), Condition(IGNORE))
    client.update_row("t", Row([("pk", "a")], {"increment": [("c", 2)], "delete_all": ["d"]}), Condition(EXIST))
    assert column(client, "c") == 3 and column(client, "d") is None
    client.page_rows = 2
    for key in "bcde":
        client.put_row("t", Row([("pk", key)], [("v", key)]))
    seen, start = [], [("pk", INF_MIN)]
    while start:
        _, start, rows, _ = client.get_range("t", Direction.FORWARD, start, [("pk", INF_MAX)])
        seen += [dict(row.primary_key)["pk"] for row in rows]
    assert seen == ["a", "b", "c", "d", "e"]
    _, _, rows, _ = client.get_range("t", Direction.FORWARD, [("pk", "b")], [("pk", "d")])
    assert [dict(row.primary_key)["pk"] for row in rows] == ["b", "c"]


def test_adapter_creates_its_table_on_first_use_only():
    client = FakeOTSClient()
    store = TablestoreStore(client, "image_repair_state")
    assert client.list_table() == ()           # nothing happens at construction
    store.acquire_lock("m-1", "exec-1")
    assert client.list_table() == ("image_repair_state",)
    other = TablestoreStore(client, "image_repair_state")
    assert other.get_lock("m-1").owner == "exec-1"
    assert client.calls.count("CreateTable") == 1


def test_adapter_without_table_creation_reports_the_missing_table():
    store = TablestoreStore(FakeOTSClient(), "absent", create_table=False)
    with pytest.raises(OTSServiceError) as raised:
        store.get_execution("exec-1")
    assert raised.value.code == "OTSObjectNotExist"


def test_adapter_propagates_errors_other_than_a_failed_condition(client):
    store = TablestoreStore(client, "t")

    def throttled(*args, **kwargs):
        raise OTSServiceError(503, "OTSServerBusy", "Server is busy.")
    client.put_row = throttled
    with pytest.raises(OTSServiceError):
        store.acquire_lock("m-1", "exec-1")


def test_open_store_builds_the_tablestore_adapter_on_a_given_client():
    client = FakeOTSClient()
    store = open_store(StoreSettings(backend="tablestore", instance="i", table="tbl", endpoint="https://x",
                                     access_key_id="k", access_key_secret="s"), ots_client=client)
    store.create_execution("exec-1", "m-1")
    assert client.list_table() == ("tbl",)


def test_a_row_deleted_between_the_two_conditional_writes_is_claimed_on_the_next_round():
    client = FakeOTSClient()
    clock_ms = [1_000_000]
    store = TablestoreStore(client, "t", clock=lambda: clock_ms[0] / 1000)
    store.acquire_lock("m-1", "exec-old", ttl_s=1)
    clock_ms[0] += 2000                                   # the old lock expired
    real_put, puts = client.put_row, []

    def put_row(table, row, condition=None, **kwargs):
        puts.append(condition.row_existence_expectation)
        if len(puts) == 2:                                # the old owner releases in between
            client.delete_row(table, Row(row.primary_key), Condition(IGNORE))
        return real_put(table, row, condition, **kwargs)
    client.put_row = put_row
    assert store.acquire_lock("m-1", "exec-new").owner == "exec-new"
    assert puts == [NOT_EXIST, EXIST, NOT_EXIST]          # absent? no; exists+expired? gone; absent: yes
