"""An in-memory stand-in for ``tablestore.OTSClient`` (its transport is urllib3 + protobuf, which
no HTTP mock intercepts, and there is no local Tablestore emulator).

It keeps the client's method signatures and return shapes (``(consumed, row, token)`` ...),
honours row-existence expectations and single/composite column conditions (``pass_if_missing``
included), and fails the way the service does: ``OTSServiceError`` with the service's codes
(``OTSConditionCheckFail`` 403, ``OTSObjectNotExist`` 404, ``OTSObjectAlreadyExist`` 409,
``OTSParameterInvalid`` 400). Each call is atomic, like a single-row operation of the service.
"""
import operator
import threading
import time
from typing import Any, Optional

from tablestore import (INF_MAX, INF_MIN, CapacityUnit, ComparatorType, CompositeColumnCondition, Condition,
                        DescribeTableResponse, Direction, LogicalOperator, OTSServiceError, ReservedThroughputDetails,
                        Row, RowExistenceExpectation, SingleColumnCondition)

COMPARATORS = {
    ComparatorType.EQUAL: operator.eq, ComparatorType.NOT_EQUAL: operator.ne,
    ComparatorType.GREATER_THAN: operator.gt, ComparatorType.GREATER_EQUAL: operator.ge,
    ComparatorType.LESS_THAN: operator.lt, ComparatorType.LESS_EQUAL: operator.le,
}
PK_TYPES = {"STRING": (str,), "INTEGER": (int,), "BINARY": (bytes, bytearray)}
VALUE_TYPES = (str, int, float, bool, bytes, bytearray)


def _service_error(status: int, code: str, message: str) -> OTSServiceError:
    return OTSServiceError(status, code, message, request_id="fake-ots")


def _same_type(a: Any, b: Any) -> bool:
    # Tablestore compares values of one type only (a bool is not an integer there, nor an int a double).
    return type(a) is type(b)


class _Table:
    def __init__(self, meta):
        self.meta = meta
        self.rows: dict[tuple, dict[str, tuple]] = {}   # pk values -> {column: (value, timestamp)}


class FakeOTSClient:
    """The row API of OTSClient over dicts. ``page_rows`` bounds one get_range answer, so callers
    must follow ``next_start_primary_key`` as they must with the service."""

    def __init__(self, page_rows: int = 100):
        self.page_rows = page_rows
        self._tables: dict[str, _Table] = {}
        self._lock = threading.RLock()
        self.calls: list[str] = []

    # ---- tables -------------------------------------------------------------------------------
    def create_table(self, table_meta, table_options, reserved_throughput, secondary_indexes=None, sse_spec=None):
        with self._lock:
            self.calls.append("CreateTable")
            if table_meta.table_name in self._tables:
                raise _service_error(409, "OTSObjectAlreadyExist", "Requested table already exists.")
            self._tables[table_meta.table_name] = _Table(table_meta)

    def describe_table(self, table_name):
        with self._lock:
            self.calls.append("DescribeTable")
            table = self._table(table_name)
            return DescribeTableResponse(table.meta, None, ReservedThroughputDetails(CapacityUnit(0, 0), 0, 0))

    def list_table(self):
        with self._lock:
            return tuple(sorted(self._tables))

    def delete_table(self, table_name):
        with self._lock:
            self._table(table_name)
            del self._tables[table_name]

    # ---- rows ---------------------------------------------------------------------------------
    def get_row(self, table_name, primary_key, columns_to_get=None, column_filter=None, max_version=1,
                time_range=None, start_column=None, end_column=None, token=None, transaction_id=None):
        with self._lock:
            self.calls.append("GetRow")
            table = self._table(table_name)
            key = self._key(table, primary_key)
            stored = table.rows.get(key)
            if stored is None or (column_filter is not None and not self._passes(column_filter, stored)):
                return CapacityUnit(1, 0), None, None
            return CapacityUnit(1, 0), self._row(table, key, stored, columns_to_get), None

    def put_row(self, table_name, row, condition=None, return_type=None, transaction_id=None):
        with self._lock:
            self.calls.append("PutRow")
            table = self._table(table_name)
            key = self._key(table, row.primary_key)
            self._check(condition, table.rows.get(key))
            now = int(time.time() * 1000)
            table.rows[key] = {column[0]: (self._value(column), self._stamp(column, now))
                               for column in (row.attribute_columns or [])}
            return CapacityUnit(0, 1), None

    def update_row(self, table_name, row, condition, return_type=None, transaction_id=None):
        with self._lock:
            self.calls.append("UpdateRow")
            table = self._table(table_name)
            key = self._key(table, row.primary_key)
            existing = table.rows.get(key)
            self._check(condition, existing)
            updated = dict(existing or {})
            now = int(time.time() * 1000)
            changes = row.attribute_columns or {}
            unknown = set(changes) - {"put", "delete", "delete_all", "increment"}
            if unknown:
                raise _service_error(400, "OTSParameterInvalid", "unknown update types %s" % sorted(unknown))
            for column in changes.get("put", []):
                updated[column[0]] = (self._value(column), self._stamp(column, now))
            for column in list(changes.get("delete", [])) + list(changes.get("delete_all", [])):
                updated.pop(column if isinstance(column, str) else column[0], None)
            for name, amount in changes.get("increment", []):
                current = updated.get(name, (0, now))[0]
                if not isinstance(current, int) or isinstance(current, bool):
                    raise _service_error(400, "OTSParameterInvalid", "increment of a non-integer column %s" % name)
                updated[name] = (current + amount, now)
            table.rows[key] = updated
            return CapacityUnit(0, 1), None

    def delete_row(self, table_name, row=None, condition=None, return_type=None, transaction_id=None, **kwargs):
        primary_key = row.primary_key if isinstance(row, Row) else (row if row is not None else kwargs["primary_key"])
        with self._lock:
            self.calls.append("DeleteRow")
            table = self._table(table_name)
            key = self._key(table, primary_key)
            self._check(condition, table.rows.get(key))
            table.rows.pop(key, None)
            return CapacityUnit(0, 1), None

    def get_range(self, table_name, direction, inclusive_start_primary_key, exclusive_end_primary_key,
                  columns_to_get=None, limit=None, column_filter=None, max_version=1, time_range=None,
                  start_column=None, end_column=None, token=None, transaction_id=None):
        with self._lock:
            self.calls.append("GetRange")
            table = self._table(table_name)
            start = self._bound(table, inclusive_start_primary_key)
            end = self._bound(table, exclusive_end_primary_key)
            forward = direction == Direction.FORWARD
            keys = sorted(table.rows, reverse=not forward)
            if forward:
                keys = [k for k in keys if self._cmp(k, start) >= 0 and self._cmp(k, end) < 0]
            else:
                keys = [k for k in keys if self._cmp(k, start) <= 0 and self._cmp(k, end) > 0]
            page = min(self.page_rows, limit) if limit else self.page_rows
            rows = [self._row(table, k, table.rows[k], columns_to_get) for k in keys[:page]
                    if column_filter is None or self._passes(column_filter, table.rows[k])]
            next_start = None
            if len(keys) > page:
                names = [name for name, _ in table.meta.schema_of_primary_key]
                next_start = list(zip(names, keys[page]))
            return CapacityUnit(len(rows), 0), next_start, rows, None

    # ---- helpers ------------------------------------------------------------------------------
    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise _service_error(404, "OTSObjectNotExist", "Requested table does not exist.")
        return table

    @staticmethod
    def _key(table: _Table, primary_key) -> tuple:
        schema = table.meta.schema_of_primary_key
        given = list(primary_key.items()) if isinstance(primary_key, dict) else list(primary_key)
        if [name for name, _ in given] != [name for name, _ in schema]:
            raise _service_error(400, "OTSParameterInvalid", "Validate PK name fail. Input: %s, Meta: %s."
                                 % ([name for name, _ in given], [name for name, _ in schema]))
        for (name, value), (_, pk_type) in zip(given, schema):
            if not isinstance(value, PK_TYPES[pk_type]) or isinstance(value, bool):
                raise _service_error(400, "OTSParameterInvalid", "Validate PK type fail for %s." % name)
        return tuple(value for _, value in given)

    @staticmethod
    def _bound(table: _Table, primary_key) -> tuple:
        given = list(primary_key.items()) if isinstance(primary_key, dict) else list(primary_key)
        return tuple(value for _, value in given)

    @staticmethod
    def _cmp(key: tuple, bound: tuple) -> int:
        for value, limit in zip(key, bound):
            if limit is INF_MIN or isinstance(limit, INF_MIN):
                return 1
            if limit is INF_MAX or isinstance(limit, INF_MAX):
                return -1
            if value != limit:
                return -1 if value < limit else 1
        return 0

    @staticmethod
    def _value(column) -> Any:
        value = column[1]
        if value is None or not isinstance(value, VALUE_TYPES):
            raise _service_error(400, "OTSParameterInvalid", "Invalid value type for column %s: %r"
                                 % (column[0], type(value).__name__))
        return value

    @staticmethod
    def _stamp(column, now: int) -> int:
        return column[2] if len(column) > 2 and column[2] is not None else now

    @staticmethod
    def _row(table: _Table, key: tuple, stored: dict, columns_to_get: Optional[list]) -> Row:
        names = [name for name, _ in table.meta.schema_of_primary_key]
        attributes = [(name, value, stamp) for name, (value, stamp) in sorted(stored.items())
                      if not columns_to_get or name in columns_to_get]
        return Row(list(zip(names, key)), attributes)

    def _check(self, condition: Optional[Condition], existing: Optional[dict]) -> None:
        expectation = RowExistenceExpectation.IGNORE if condition is None else condition.row_existence_expectation
        if expectation == RowExistenceExpectation.EXPECT_EXIST and existing is None:
            raise _service_error(403, "OTSConditionCheckFail", "Condition check failed.")
        if expectation == RowExistenceExpectation.EXPECT_NOT_EXIST and existing is not None:
            raise _service_error(403, "OTSConditionCheckFail", "Condition check failed.")
        column_condition = None if condition is None else condition.column_condition
        if column_condition is not None and not self._passes(column_condition, existing or {}):
            raise _service_error(403, "OTSConditionCheckFail", "Condition check failed.")

    def _passes(self, condition, stored: dict) -> bool:
        if isinstance(condition, CompositeColumnCondition):
            results = [self._passes(sub, stored) for sub in condition.sub_conditions]
            if condition.combinator == LogicalOperator.NOT:
                if len(results) != 1:
                    raise _service_error(400, "OTSParameterInvalid", "NOT takes exactly one sub condition.")
                return not results[0]
            if not results:
                raise _service_error(400, "OTSParameterInvalid", "A composite condition needs sub conditions.")
            return all(results) if condition.combinator == LogicalOperator.AND else any(results)
        if isinstance(condition, SingleColumnCondition):
            if condition.column_name not in stored:
                return condition.pass_if_missing
            value = stored[condition.column_name][0]
            expected = condition.column_value
            if not _same_type(value, expected):
                return False
            return COMPARATORS[condition.comparator](value, expected)
        raise _service_error(400, "OTSParameterInvalid", "Unsupported column condition %s" % type(condition).__name__)
