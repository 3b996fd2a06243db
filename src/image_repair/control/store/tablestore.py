"""Tablestore adapter (the ``tablestore`` SDK): one table, primary key ``pk`` (STRING).

Conditional writes map one to one onto Tablestore conditions:

* insert if absent or expired: ``put_row`` with ``Condition(EXPECT_NOT_EXIST)``; if the row
  exists, ``put_row`` with ``Condition(EXPECT_EXIST, expires_at_ms <= now)``, OR'ed in a
  ``CompositeColumnCondition`` with ``owner == claimant`` for re-entrant locks;
* update if unchanged: ``update_row`` with ``Condition(EXPECT_EXIST, version == expected)``;
* delete (own): ``delete_row`` with ``Condition(EXPECT_EXIST[, owner == claimant])``.

A failed condition is ``OTSServiceError`` code ``OTSConditionCheckFail``: answered False here.

Failures (tablestore_retry.py, docs/store.md "Failures and retries"): the adapter retries
throttling, 5xx and unanswered calls itself. A write whose answer was lost may have been applied,
so every put and update carries a fresh ``write_id`` column, the same in each of its attempts: when
an attempt after an unanswered one fails its condition, the adapter reads the row back and the
write counts as applied only if the row carries its ``write_id`` (a delete: if the row is gone).
No write is ever applied twice (each is conditional) and none is reported lost when it applied.
When retries run out: ``StoreUnavailable``, a transient failure the flow retries later.
The table is created on first use when missing (``create_table=True``).
"""
import logging
import threading
import uuid
from typing import Any, Callable, Dict, Iterable, Optional

from tablestore import (CapacityUnit, ComparatorType, CompositeColumnCondition, Condition, Direction,
                        LogicalOperator, OTSClient, OTSServiceError, ReservedThroughput, Row, RowExistenceExpectation,
                        SingleColumnCondition, TableMeta, TableOptions)
from tablestore.retry import NoRetryPolicy

from .base import StateStore, StoredRow
from .models import StoreConfigError, StoreUnavailable
from .tablestore_retry import RetrySchedule, failure_kind, service_code

CONDITION_FAILED = "OTSConditionCheckFail"
TABLE_MISSING = "OTSObjectNotExist"
TABLE_EXISTS = "OTSObjectAlreadyExist"
ATTRIBUTES = ("kind", "key", "status", "owner", "expires_at_ms", "version", "data", "updated_at_ms")
WRITE_ID = "write_id"       # which write left the row as it is (read back after a lost answer)
DEFAULT_SOCKET_TIMEOUT_S = 10.0
SDK_LOGGER = "image_repair.control.store.tablestore_sdk"


def make_ots_client(endpoint: str, access_key_id: str, access_key_secret: str, instance: str,
                    security_token: Optional[str] = None, socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_S):
    """The OTSClient this adapter needs: no retries of its own (the adapter retries, see above), a
    10 s socket timeout (the SDK's 50 s would eat most of a function's time on one lost answer),
    and its logger quiet: the SDK logs every refused condition, an expected answer here, at ERROR
    (tablestore/protocol.py ``handle_error``); what matters reaches the caller as an exception."""
    logging.getLogger(SDK_LOGGER).setLevel(logging.CRITICAL)
    return OTSClient(endpoint, access_key_id, access_key_secret, instance, sts_token=security_token,
                     retry_policy=NoRetryPolicy(), socket_timeout=socket_timeout, logger_name=SDK_LOGGER)


class TablestoreStore(StateStore):
    def __init__(self, client: Any, table_name: str, create_table: bool = True,
                 retry: RetrySchedule = RetrySchedule(), **kwargs):
        """``client``: an ``OTSClient`` that does not retry (``make_ots_client``)."""
        super().__init__(**kwargs)
        if not isinstance(getattr(client, "retry_policy", None), NoRetryPolicy):
            raise StoreConfigError("the Tablestore client must not retry by itself (build it with "
                                   "store.tablestore.make_ots_client): the adapter decides what a retry means")
        self.client = client
        self.table_name = table_name
        self.retry = retry
        self._create_table = create_table
        self._table_checked = False
        self._table_lock = threading.Lock()

    def close(self) -> None:
        """Close the client's pooled connections (the SDK's OTSClient has no close of its own)."""
        pool = getattr(getattr(self.client, "connection", None), "pool", None)
        if pool is not None:
            pool.clear()

    # The table is checked (and created) once, on first use, never at construction or import.
    def _table(self) -> str:
        if not self._table_checked:
            with self._table_lock:
                if not self._table_checked:
                    self._ensure_table()
                    self._table_checked = True
        return self.table_name

    def _ensure_table(self) -> None:
        try:
            self._retried(lambda: self.client.describe_table(self.table_name))
            return
        except OTSServiceError as error:
            if error.code != TABLE_MISSING or not self._create_table:
                raise
        try:
            # max_version=1: rows are records, not time series; TTL -1: expiry is ours, not the table's.
            self._retried(lambda: self.client.create_table(TableMeta(self.table_name, [("pk", "STRING")]),
                                                           TableOptions(time_to_live=-1, max_version=1),
                                                           ReservedThroughput(CapacityUnit(0, 0))))
        except OTSServiceError as error:
            if error.code != TABLE_EXISTS:   # another process created it first, or our lost attempt did
                raise

    # ---- retries ------------------------------------------------------------------------------
    def _retried(self, call: Callable[[], Any], on_refusal: Optional[Callable[[bool], bool]] = None) -> Any:
        """``call()``'s answer, retrying what is worth retrying (tablestore_retry.py).

        ``on_refusal`` (conditional writes): a failed condition is answered ``on_refusal(u)``,
        ``u`` telling whether an earlier attempt went unanswered (and so may have been applied)."""
        started = self.retry.monotonic()
        unanswered = False
        for attempt in range(self.retry.attempts):
            try:
                return call()
            except Exception as error:
                if on_refusal is not None and isinstance(error, OTSServiceError) and error.code == CONDITION_FAILED:
                    return on_refusal(unanswered)
                kind = failure_kind(error)
                if kind is None:
                    raise
                last = error
            unanswered = True
            wait = self.retry.delay(attempt, kind)
            if attempt + 1 == self.retry.attempts or self.retry.monotonic() - started + wait > self.retry.budget_s:
                break
            self.retry.sleep(wait)
        raise StoreUnavailable(kind, service_code(last), "Tablestore kept failing (%d attempts): %s"
                               % (attempt + 1, last))

    def _conditional(self, call: Callable[[], Any], pk: str, write_id: Optional[str]) -> bool:
        """A conditional write: True when applied, by this attempt or an unanswered earlier one
        (the row carries our ``write_id``; ``write_id`` None is a delete: the row is gone)."""
        def send() -> bool:
            call()
            return True

        def refused(after_unanswered: bool) -> bool:
            if not after_unanswered:
                return False      # the service evaluated the condition against a row we never wrote
            columns = self._columns(pk)
            return columns is None if write_id is None else (columns or {}).get(WRITE_ID) == write_id
        return self._retried(send, on_refusal=refused)

    # ---- backend primitives -------------------------------------------------------------------
    @staticmethod
    def _attributes(row: StoredRow, write_id: str) -> list:
        return [(name, getattr(row, name)) for name in ATTRIBUTES] + [(WRITE_ID, write_id)]

    def _columns(self, pk: str) -> Optional[Dict[str, Any]]:
        table = self._table()
        _, ots_row, _ = self._retried(lambda: self.client.get_row(table, [("pk", pk)], max_version=1))
        return None if ots_row is None else {column[0]: column[1] for column in ots_row.attribute_columns}

    @staticmethod
    def _stored(pk: str, columns: Dict[str, Any]) -> StoredRow:
        return StoredRow(pk=pk, **{name: columns[name] for name in ATTRIBUTES})

    def _get(self, pk: str) -> Optional[StoredRow]:
        columns = self._columns(pk)
        return None if columns is None else self._stored(pk, columns)

    def _put_if_absent_or_expired(self, row: StoredRow, now_ms: int, owner: Optional[str] = None) -> bool:
        table, write_id = self._table(), uuid.uuid4().hex
        ots_row = Row([("pk", row.pk)], self._attributes(row, write_id))
        # Two atomic writes rather than one IGNORE + column condition, so that correctness does not
        # depend on how the service evaluates a column condition against a row that does not
        # exist: first "absent", then "exists and (expired or ours)". A row deleted in between
        # makes the second fail too: the caller reads again and retries.
        absent = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        if self._conditional(lambda: self.client.put_row(table, ots_row, absent), row.pk, write_id):
            return True
        condition = SingleColumnCondition("expires_at_ms", now_ms, ComparatorType.LESS_EQUAL, pass_if_missing=False)
        if owner is not None:
            either = CompositeColumnCondition(LogicalOperator.OR)
            either.add_sub_condition(condition)
            either.add_sub_condition(SingleColumnCondition("owner", owner, ComparatorType.EQUAL, pass_if_missing=False))
            condition = either
        replaceable = Condition(RowExistenceExpectation.EXPECT_EXIST, condition)
        return self._conditional(lambda: self.client.put_row(table, ots_row, replaceable), row.pk, write_id)

    def _update_if(self, row: StoredRow, expected_version: int) -> bool:
        table, write_id = self._table(), uuid.uuid4().hex
        unchanged = SingleColumnCondition("version", expected_version, ComparatorType.EQUAL, pass_if_missing=False)
        change = Row([("pk", row.pk)], {"put": self._attributes(row, write_id)})
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST, unchanged)
        return self._conditional(lambda: self.client.update_row(table, change, condition), row.pk, write_id)

    def _delete(self, pk: str, owner: Optional[str] = None) -> bool:
        table = self._table()
        ours = None if owner is None else SingleColumnCondition("owner", owner, ComparatorType.EQUAL,
                                                                 pass_if_missing=False)
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST, ours)
        return self._conditional(lambda: self.client.delete_row(table, Row([("pk", pk)]), condition), pk, None)

    def _scan(self, kind: str) -> Iterable[StoredRow]:
        # Keys are "<kind>#<hash>": the range ["<kind>#", "<kind>$") holds exactly one kind.
        table = self._table()
        start, end = [("pk", kind + "#")], [("pk", kind + "$")]
        rows = []
        while start is not None:
            page_start = start
            _, start, ots_rows, _ = self._retried(lambda: self.client.get_range(table, Direction.FORWARD, page_start,
                                                                                end, max_version=1))
            rows.extend(self._stored(dict(r.primary_key)["pk"], {c[0]: c[1] for c in r.attribute_columns})
                        for r in ots_rows)
        return rows

    def _delete_if_expired(self, pk: str, now_ms: int) -> bool:
        # The pool's tidying (pool_rows.py): one delete_row, its condition "exists and expired".
        table = self._table()
        expired = SingleColumnCondition("expires_at_ms", now_ms, ComparatorType.LESS_EQUAL, pass_if_missing=False)
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST, expired)
        return self._conditional(lambda: self.client.delete_row(table, Row([("pk", pk)]), condition), pk, None)
