"""The Tablestore adapter through the real ``tablestore`` SDK over HTTP, against the Tablestore
emulator on a loopback port: the conditions it relies on as the service answers them, table
creation, and its behaviour under every fault the emulator injects that needs no socket timeout
(throttling, 5xx, answers lost after the write applied, a concurrent writer in between), and the
two that need one: an answer held until the client's socket timeout, and a write the service
applies only after the client gave up (a late write)."""
import threading

import pytest
from tablestore import (CapacityUnit, ComparatorType, CompositeColumnCondition, Condition, Direction, INF_MAX,
                        INF_MIN, LogicalOperator, OTSClient, OTSServiceError, ReservedThroughput, Row,
                        RowExistenceExpectation, SingleColumnCondition, TableMeta, TableOptions)

from image_repair.emulator.tablestore import TablestoreBackend, TablestoreServer
from image_repair.emulator.tablestore.conditions import Condition as EmulatedCondition
from image_repair.emulator.tablestore.plainbuffer import Cell, Value
from image_repair.control.steps.transient import transient_kind
from image_repair.control.store import (LockHeld, StepInProgress, StepStatus, StoreConfigError, StoreSettings,
                                StoreUnavailable, open_store, record_key)
from image_repair.control.store.tablestore import WRITE_ID, TablestoreStore
from image_repair.control.store.tablestore_retry import RetrySchedule, failure_kind, no_wait

IGNORE, EXIST, NOT_EXIST = (RowExistenceExpectation.IGNORE, RowExistenceExpectation.EXPECT_EXIST,
                            RowExistenceExpectation.EXPECT_NOT_EXIST)
TABLE = "image_repair_state"
FAST = RetrySchedule(sleep=no_wait)


@pytest.fixture
def server():
    with TablestoreServer(TablestoreBackend(page_rows=2)) as server:
        yield server


@pytest.fixture
def client(server):
    client = server.client()
    client.create_table(TableMeta("t", [("pk", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0)))
    return client


@pytest.fixture
def clock():
    class Clock:
        now = 1_700_000_000.0

        def __call__(self):
            return self.now
    return Clock()


HELD_SOCKET_TIMEOUT_S = 0.5


@pytest.fixture
def store(request, server, clock):
    # a held answer costs the client its socket timeout: short for those tests only (elsewhere a
    # spurious timeout on a loaded machine would change the calls the tests list)
    held = getattr(getattr(request.node, "callspec", None), "params", {}).get("mode") in ("hold", "stall")
    client = server.client(socket_timeout=HELD_SOCKET_TIMEOUT_S) if held else server.client()
    store = TablestoreStore(client, TABLE, clock=clock, retry=FAST)
    yield store
    store.close()


def code_of(call, *args):
    with pytest.raises(OTSServiceError) as raised:
        call(*args)
    return raised.value.code


def column(client, name):
    _, row, _ = client.get_row("t", [("pk", "a")], max_version=1)
    return None if row is None else {c[0]: c[1] for c in row.attribute_columns}.get(name)


def operations(server, name=None):
    return [call for call in server.backend.calls if name is None or call.operation == name]


# ---- the conditions the adapter relies on, as the endpoint answers them through the SDK --------
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


def test_a_failed_condition_is_403_and_changes_nothing(client):
    client.put_row("t", Row([("pk", "a")], [("v", 1)]))
    with pytest.raises(OTSServiceError) as raised:
        client.put_row("t", Row([("pk", "a")], [("v", 2)]), Condition(EXIST, SingleColumnCondition(
            "v", 5, ComparatorType.EQUAL)))
    assert (raised.value.http_status, raised.value.code) == (403, "OTSConditionCheckFail")
    assert column(client, "v") == 1


def test_single_column_conditions_and_pass_if_missing(client):
    client.put_row("t", Row([("pk", "a")], [("n", 9)]))
    missing_fails = SingleColumnCondition("absent", 5, ComparatorType.LESS_EQUAL, pass_if_missing=False)
    missing_ok = SingleColumnCondition("absent", 5, ComparatorType.LESS_EQUAL, pass_if_missing=True)
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 1)]), Condition(EXIST, missing_fails)) \
        == "OTSConditionCheckFail"
    client.put_row("t", Row([("pk", "a")], [("n", 8)]), Condition(EXIST, missing_ok))
    less_equal = SingleColumnCondition("n", 5, ComparatorType.LESS_EQUAL, pass_if_missing=False)
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 1)]), Condition(EXIST, less_equal)) \
        == "OTSConditionCheckFail"        # 8 <= 5 is false
    client.put_row("t", Row([("pk", "a")], [("n", 5)]), Condition(EXIST, SingleColumnCondition(
        "n", 8, ComparatorType.EQUAL)))
    client.put_row("t", Row([("pk", "a")], [("n", 1)]), Condition(EXIST, less_equal))   # 5 <= 5
    assert column(client, "n") == 1
    # A string never equals an integer: the adapter compares like with like.
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("n", 2)]), Condition(EXIST, SingleColumnCondition(
        "n", "1", ComparatorType.EQUAL))) == "OTSConditionCheckFail"


def test_composite_conditions(client):
    client.put_row("t", Row([("pk", "a")], [("owner", "x"), ("exp", 100)]))

    def either(owner, now):
        condition = CompositeColumnCondition(LogicalOperator.OR)
        condition.add_sub_condition(SingleColumnCondition("exp", now, ComparatorType.LESS_EQUAL, pass_if_missing=False))
        condition.add_sub_condition(SingleColumnCondition("owner", owner, ComparatorType.EQUAL, pass_if_missing=False))
        return Condition(EXIST, condition)
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
    alone = CompositeColumnCondition(LogicalOperator.OR)
    alone.add_sub_condition(SingleColumnCondition("owner", "y", ComparatorType.EQUAL))
    assert code_of(client.put_row, "t", Row([("pk", "a")], [("v", 1)]), Condition(IGNORE, alone)) \
        == "OTSParameterInvalid"


def test_service_errors_for_bad_requests(client):
    assert code_of(client.get_row, "missing", [("pk", "a")]) == "OTSObjectNotExist"
    assert code_of(client.get_row, "t", [("id", "a")]) == "OTSParameterInvalid"
    assert code_of(client.get_row, "t", [("pk", 1)]) == "OTSParameterInvalid"
    assert code_of(client.create_table, TableMeta("t", [("pk", "STRING")]), TableOptions(),
                   ReservedThroughput(CapacityUnit(0, 0))) == "OTSObjectAlreadyExist"


def test_update_row_operations_versions_and_range_pages(client):
    client.update_row("t", Row([("pk", "a")], {"put": [("c", 1), ("d", "x")]}), Condition(IGNORE))
    client.update_row("t", Row([("pk", "a")], {"increment": [("c", 2)], "delete_all": ["d"]}), Condition(EXIST))
    assert column(client, "c") == 3 and column(client, "d") is None
    for key in "bcde":
        client.put_row("t", Row([("pk", key)], [("v", key)]))
    seen, start, pages = [], [("pk", INF_MIN)], 0
    while start:
        _, start, rows, _ = client.get_range("t", Direction.FORWARD, start, [("pk", INF_MAX)], max_version=1)
        seen += [dict(row.primary_key)["pk"] for row in rows]
        pages += 1
    assert seen == ["a", "b", "c", "d", "e"] and pages == 3          # the endpoint answers 2 rows a page
    _, _, rows, _ = client.get_range("t", Direction.FORWARD, [("pk", "b")], [("pk", "d")], max_version=1)
    assert [dict(row.primary_key)["pk"] for row in rows] == ["b", "c"]
    _, _, rows, _ = client.get_range("t", Direction.BACKWARD, [("pk", "d")], [("pk", "b")], max_version=1)
    assert [dict(row.primary_key)["pk"] for row in rows] == ["d", "c"]


# ---- the adapter's own concerns -------------------------------------------------------------
def test_adapter_creates_its_table_on_first_use_only(server, clock):
    store = TablestoreStore(server.client(), TABLE, clock=clock, retry=FAST)
    assert operations(server) == []                       # nothing happens at construction
    store.acquire_lock("m-1", "exec-1")
    assert server.backend.list_tables("image-repair") == [TABLE]
    other = TablestoreStore(server.client(), TABLE, clock=clock, retry=FAST)
    assert other.get_lock("m-1").owner == "exec-1"
    assert len(operations(server, "CreateTable")) == 1
    table = server.backend.describe_table("image-repair", TABLE)
    assert table.primary_key == [("pk", "STRING")] and table.options.max_versions == 1
    assert table.options.time_to_live == -1


def test_adapter_without_table_creation_reports_the_missing_table(server):
    store = TablestoreStore(server.client(), "absent", create_table=False, retry=FAST)
    with pytest.raises(OTSServiceError) as raised:
        store.get_execution("exec-1")
    assert raised.value.code == "OTSObjectNotExist"


def test_a_client_that_retries_by_itself_is_refused(server):
    key_id, secret = next(iter(server.backend.accounts.items()))
    with pytest.raises(StoreConfigError, match="must not retry"):
        TablestoreStore(OTSClient(server.endpoint, key_id, secret, "image-repair"), TABLE)


def test_open_store_builds_the_tablestore_adapter_over_http(server):
    key_id, secret = next(iter(server.backend.accounts.items()))
    store = open_store(StoreSettings(backend="tablestore", instance="image-repair", table="tbl",
                                     endpoint=server.endpoint, access_key_id=key_id, access_key_secret=secret))
    store.create_execution("exec-1", "m-1")
    assert server.backend.list_tables("image-repair") == ["tbl"]
    assert {call.operation for call in server.backend.calls} >= {"DescribeTable", "CreateTable", "PutRow"}
    store.close()


def test_final_errors_propagate_at_once(server, store):
    store.get_lock("m-1")                                   # the table exists
    server.backend.faults.fail_next("PutRow", "OTSParameterInvalid", message="bad")
    before = len(operations(server, "PutRow"))
    with pytest.raises(OTSServiceError) as raised:
        store.acquire_lock("m-1", "exec-1")
    assert raised.value.code == "OTSParameterInvalid" and len(operations(server, "PutRow")) == before + 1


@pytest.mark.parametrize("code", ["OTSServerBusy", "OTSQuotaExhausted", "OTSNotEnoughCapacityUnit",
                                  "OTSRowOperationConflict", "OTSInternalServerError", "OTSServerUnavailable",
                                  "OTSPartitionUnavailable", "OTSTimeout", "OTSTableNotReady"])
def test_throttling_and_server_errors_are_retried(server, store, code):
    """Answered instead of applied: every primitive goes through on the next attempt."""
    for operation in ("PutRow", "GetRow", "UpdateRow", "DeleteRow", "GetRange", "DescribeTable"):
        server.backend.faults.fail_next(operation, code, times=2)
    execution, created = store.create_execution("exec-1", "m-src")
    assert created
    store.record_step_result("exec-1", "launch", {"i": 1})
    assert store.acquire_lock("m-src", "exec-1").owner == "exec-1"
    assert store.release_lock("m-src", "exec-1") is True
    assert [e.execution_id for e in store.list_executions()] == ["exec-1"]
    assert store.get_execution("exec-1").steps["launch"].result == {"i": 1}
    assert server.backend.faults.pending() == 0


@pytest.mark.parametrize("code", ["OTSRowOperationConflict", "OTSNotEnoughCapacityUnit", "OTSTableNotReady",
                                  "OTSPartitionUnavailable", "OTSServerBusy", "OTSOperationConflict",
                                  "OTSOperationThrottled", "OTSQuotaExhausted", "OTSTimeout", "OTSInternalServerError",
                                  "OTSServerUnavailable", "OTSParameterInvalid", "OTSAuthFailed"])
def test_every_error_the_sdks_own_policy_retries_is_retried(code):
    """The SDK's lists (tablestore/retry.py RetryUtil), asked with a status below 500 so that only
    the code decides: whatever the SDK would retry for any operation, the adapter retries too."""
    from tablestore.retry import RetryUtil
    error = OTSServiceError(409, code, "Too frequent table operations." if code == "OTSQuotaExhausted" else "x")
    sdk_retries = RetryUtil.should_retry_no_matter_which_api(error) or \
        RetryUtil.should_retry_when_api_repeatable(0, error, "GetRow")
    assert (failure_kind(error) is not None) == sdk_retries, code


def test_retries_run_out_into_a_transient_store_error(server, store):
    store.get_lock("m-1")
    server.backend.faults.fail_next("PutRow", "OTSServerBusy", times=FAST.attempts)
    with pytest.raises(StoreUnavailable) as raised:
        store.acquire_lock("m-1", "exec-1")
    assert raised.value.kind == "Throttled" and raised.value.service_code == "OTSServerBusy"
    assert transient_kind(raised.value) == "Throttled"           # the flow calls the step again later
    server.backend.faults.fail_next("GetRow", "OTSInternalServerError", times=FAST.attempts)
    with pytest.raises(StoreUnavailable) as raised:
        store.get_lock("m-1")
    assert transient_kind(raised.value) == "Transient"
    assert store.acquire_lock("m-1", "exec-1").owner == "exec-1"  # nothing was applied meanwhile


def test_quota_exhausted_other_than_too_frequent_is_final(server, store):
    store.get_lock("m-1")
    server.backend.faults.fail_next("PutRow", "OTSQuotaExhausted", message="Number of tables exceeded the quota.")
    with pytest.raises(OTSServiceError):
        store.acquire_lock("m-1", "exec-1")


# ---- lost answers: the write applied, its answer never came -----------------------------------
LOST = ["drop", "error", "timeout", "hold"]


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_insert_is_found_applied_and_not_repeated(server, store, mode):
    store.get_lock("m-1")
    server.backend.faults.lose_response("PutRow", mode)
    execution, created = store.create_execution("exec-1", "m-src")
    assert created                                        # our own write, not "someone else's execution"
    again, created_again = store.create_execution("exec-1", "m-other")
    assert not created_again and again.source_image_id == "m-src"
    puts = operations(server, "PutRow")
    assert [call.code for call in puts[:3]] == ["", "OTSConditionCheckFail", "OTSConditionCheckFail"]


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_step_claim_is_ours(server, store, mode):
    store.get_lock("m-1")
    server.backend.faults.lose_response("PutRow", mode)
    claim = store.begin_step("exec-1", "launch")
    assert not claim.completed
    assert store.get_step("exec-1", "launch").owner == claim.owner
    store.complete_step(claim, {"instanceId": "i-1"})
    assert store.run_step("exec-1", "launch", lambda: {"instanceId": "i-2"}) == {"instanceId": "i-1"}


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_lock_acquisition_is_held_and_a_lost_release_is_released(server, store, mode):
    store.get_lock("m-1")
    server.backend.faults.lose_response("PutRow", mode)
    assert store.acquire_lock("m-1", "exec-1").owner == "exec-1"
    with pytest.raises(LockHeld):
        store.acquire_lock("m-1", "exec-2")
    server.backend.faults.lose_response("DeleteRow", mode)
    assert store.release_lock("m-1", "exec-1") is True
    assert store.get_lock("m-1") is None
    assert store.acquire_lock("m-1", "exec-2").owner == "exec-2"


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_update_is_applied_once(server, store, mode):
    store.create_execution("exec-1", "m-src")
    server.backend.faults.lose_response("UpdateRow", mode)
    store.record_step_result("exec-1", "launch", {"i": 1})
    execution = store.get_execution("exec-1")
    assert execution.steps["launch"].result == {"i": 1} and execution.version == 2   # one update, not two


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_completion_and_a_lost_failure_keep_the_step_right(server, store, mode):
    store.get_lock("m-1")
    claim = store.begin_step("exec-1", "snapshot")
    server.backend.faults.lose_response("UpdateRow", mode)
    store.complete_step(claim, {"snapshotId": "s-1"})
    assert store.get_step("exec-1", "snapshot").status == StepStatus.COMPLETED
    failing = store.begin_step("exec-1", "image")
    server.backend.faults.lose_response("DeleteRow", mode)
    assert store.fail_step(failing) is True
    assert store.get_step("exec-1", "image") is None


@pytest.mark.parametrize("mode", LOST)
def test_a_lost_takeover_of_an_expired_lock_is_ours(server, store, clock, mode):
    store.acquire_lock("m-1", "exec-old", ttl_s=1)
    clock.now += 2
    server.backend.faults.lose_response("PutRow", mode, times=2)   # both the "absent?" and the "expired" put
    assert store.acquire_lock("m-1", "exec-new").owner == "exec-new"
    assert store.get_lock("m-1").owner == "exec-new"


def test_a_refusal_after_an_unanswered_attempt_is_someone_elses_write(server, store, clock):
    """Unanswered, then refused: the row is read back; another writer's version is not ours."""
    store.create_execution("exec-1", "m-src")
    pk = record_key("exec", "exec-1")

    def other_writer(backend):   # a concurrent update moves the version on before our retry arrives
        columns = backend.get_row("image-repair", TABLE, [Cell("pk", Value.string(pk))],
                                  read=_latest()).columns
        current = {name: value for name, value, _ in columns}
        changes = [Cell("version", Value.integer(current["version"].data + 1)), Cell(WRITE_ID, Value.string("other"))]
        backend.update_row("image-repair", TABLE, [Cell("pk", Value.string(pk))], changes, EmulatedCondition())
    server.backend.faults.fail_next("UpdateRow", "OTSServerBusy")
    server.backend.faults.interleave("UpdateRow", other_writer)
    execution = store.record_step_result("exec-1", "launch", {"i": 1})
    assert execution.version == 3                            # re-read after the other write, then applied
    assert store.get_execution("exec-1").steps["launch"].result == {"i": 1}
    assert [call.code for call in operations(server, "UpdateRow")] == [
        "OTSServerBusy", "OTSConditionCheckFail", ""]


def test_a_row_deleted_between_the_two_conditional_writes_is_claimed_on_the_next_round(server, store, clock):
    store.acquire_lock("m-1", "exec-old", ttl_s=1)
    clock.now += 2                                            # the old lock expired
    pk = [Cell("pk", Value.string(record_key("lock", "m-1")))]
    server.backend.faults.interleave("PutRow", lambda b: None)     # the "absent?" put: nothing in between
    server.backend.faults.interleave("PutRow", lambda b: b.delete_row("image-repair", TABLE, pk, EmulatedCondition()))
    before = len(operations(server, "PutRow"))
    assert store.acquire_lock("m-1", "exec-new").owner == "exec-new"
    puts = operations(server, "PutRow")[before:]
    # absent? no; exists and expired? gone in between; absent? yes
    assert [call.code for call in puts] == ["OTSConditionCheckFail", "OTSConditionCheckFail", ""]


def test_a_step_held_elsewhere_is_still_in_progress_after_a_lost_answer(server, store):
    """A lost answer of a claim that failed its condition is not mistaken for ours."""
    first = store.begin_step("exec-1", "launch")
    server.backend.faults.lose_response("PutRow", "error")
    with pytest.raises(StepInProgress) as raised:
        store.begin_step("exec-1", "launch")
    assert raised.value.record.owner == first.owner


def _latest():
    from image_repair.emulator.tablestore.backend import ReadOptions
    return ReadOptions(max_versions=1)


@pytest.mark.parametrize("mode", ["stall"])
def test_a_late_write_after_the_clients_timeout_is_never_a_second_write(server, store, mode):
    """The insert's answer never comes and the service applies it only once the client gave up:
    whichever lands first, the retry or the late write, exactly one is applied and the execution
    is ours."""
    store.get_lock("m-1")
    server.backend.faults.lose_response("PutRow", mode)
    execution, created = store.create_execution("exec-1", "m-src")
    assert created and store.get_execution("exec-1").source_image_id == "m-src"
    for _ in range(600):     # the late write runs on the server's thread once it saw the hang-up
        if any(call.fault == "stall" for call in operations(server, "PutRow")):
            break
        threading.Event().wait(0.05)
    puts = operations(server, "PutRow")
    assert [call.fault for call in puts].count("stall") == 1
    assert [call.code for call in puts].count("") == 1, puts
