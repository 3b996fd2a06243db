"""Tablestore adapter (the ``tablestore`` SDK): one table, primary key ``pk`` (STRING).

Conditional writes map one to one onto Tablestore conditions:

* insert if absent or expired: ``put_row`` with ``Condition(EXPECT_NOT_EXIST)``; if the row
  exists, ``put_row`` with ``Condition(EXPECT_EXIST, expires_at_ms <= now)``, OR'ed in a
  ``CompositeColumnCondition`` with ``owner == claimant`` for re-entrant locks;
* update if unchanged: ``update_row`` with ``Condition(EXPECT_EXIST, version == expected)``;
* delete (own): ``delete_row`` with ``Condition(EXPECT_EXIST[, owner == claimant])``.

A failed condition is ``OTSServiceError`` code ``OTSConditionCheckFail``: answered False here.
The table is created on first use when missing (``create_table=True``).
"""
import threading
from typing import Any, Iterable, Optional

from tablestore import (CapacityUnit, ComparatorType, CompositeColumnCondition, Condition, Direction,
                        LogicalOperator, OTSServiceError, ReservedThroughput, Row, RowExistenceExpectation,
                        SingleColumnCondition, TableMeta, TableOptions)

from .base import StateStore, StoredRow

CONDITION_FAILED = "OTSConditionCheckFail"
TABLE_MISSING = "OTSObjectNotExist"
TABLE_EXISTS = "OTSObjectAlreadyExist"
ATTRIBUTES = ("kind", "key", "status", "owner", "expires_at_ms", "version", "data", "updated_at_ms")


class TablestoreStore(StateStore):
    def __init__(self, client: Any, table_name: str, create_table: bool = True, **kwargs):
        """``client``: an ``OTSClient`` (or anything with its row methods, e.g. the in-memory fake)."""
        super().__init__(**kwargs)
        self.client = client
        self.table_name = table_name
        self._create_table = create_table
        self._table_checked = False
        self._table_lock = threading.Lock()

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
            self.client.describe_table(self.table_name)
            return
        except OTSServiceError as error:
            if error.code != TABLE_MISSING or not self._create_table:
                raise
        try:
            # max_version=1: rows are records, not time series; TTL -1: expiry is ours, not the table's.
            self.client.create_table(TableMeta(self.table_name, [("pk", "STRING")]),
                                     TableOptions(time_to_live=-1, max_version=1),
                                     ReservedThroughput(CapacityUnit(0, 0)))
        except OTSServiceError as error:
            if error.code != TABLE_EXISTS:   # another process created it first: fine
                raise

    @staticmethod
    def _attributes(row: StoredRow) -> list:
        return [(name, getattr(row, name)) for name in ATTRIBUTES]

    def _from_ots(self, ots_row: Row) -> StoredRow:
        pk = dict(ots_row.primary_key)["pk"]
        columns = {column[0]: column[1] for column in ots_row.attribute_columns}
        return StoredRow(pk=pk, **{name: columns[name] for name in ATTRIBUTES})

    def _conditional(self, call, *args) -> bool:
        try:
            call(*args)
            return True
        except OTSServiceError as error:
            if error.code == CONDITION_FAILED:
                return False
            raise

    def _get(self, pk: str) -> Optional[StoredRow]:
        _, ots_row, _ = self.client.get_row(self._table(), [("pk", pk)], max_version=1)
        return None if ots_row is None else self._from_ots(ots_row)

    def _put_if_absent_or_expired(self, row: StoredRow, now_ms: int, owner: Optional[str] = None) -> bool:
        ots_row = Row([("pk", row.pk)], self._attributes(row))
        # Two atomic writes rather than one IGNORE + column condition, so that correctness does not
        # depend on how the service evaluates a column condition against a row that does not
        # exist: first "absent", then "exists and (expired or ours)". A row deleted in between
        # makes the second fail too: the caller reads again and retries.
        if self._conditional(self.client.put_row, self._table(), ots_row,
                             Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)):
            return True
        condition = SingleColumnCondition("expires_at_ms", now_ms, ComparatorType.LESS_EQUAL, pass_if_missing=False)
        if owner is not None:
            either = CompositeColumnCondition(LogicalOperator.OR)
            either.add_sub_condition(condition)
            either.add_sub_condition(SingleColumnCondition("owner", owner, ComparatorType.EQUAL, pass_if_missing=False))
            condition = either
        return self._conditional(self.client.put_row, self._table(), ots_row,
                                 Condition(RowExistenceExpectation.EXPECT_EXIST, condition))

    def _update_if(self, row: StoredRow, expected_version: int) -> bool:
        unchanged = SingleColumnCondition("version", expected_version, ComparatorType.EQUAL, pass_if_missing=False)
        return self._conditional(self.client.update_row, self._table(),
                                 Row([("pk", row.pk)], {"put": self._attributes(row)}),
                                 Condition(RowExistenceExpectation.EXPECT_EXIST, unchanged))

    def _delete(self, pk: str, owner: Optional[str] = None) -> bool:
        ours = None if owner is None else SingleColumnCondition("owner", owner, ComparatorType.EQUAL,
                                                                 pass_if_missing=False)
        return self._conditional(self.client.delete_row, self._table(), Row([("pk", pk)]),
                                 Condition(RowExistenceExpectation.EXPECT_EXIST, ours))

    def _scan(self, kind: str) -> Iterable[StoredRow]:
        # Keys are "<kind>#<hash>": the range ["<kind>#", "<kind>$") holds exactly one kind.
        start, end = [("pk", kind + "#")], [("pk", kind + "$")]
        rows = []
        while start is not None:
            _, next_start, ots_rows, _ = self.client.get_range(self._table(), Direction.FORWARD, start, end,
                                                               max_version=1)
            rows.extend(self._from_ots(ots_row) for ots_row in ots_rows)
            start = next_start
        return rows
