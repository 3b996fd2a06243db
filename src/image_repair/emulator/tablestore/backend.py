"""The emulated Tablestore instances: tables, rows with versioned cells, conditional writes and
range reads, as typed methods (the wire layer, wire.py, decodes protobuf into these calls).

One lock serializes every operation: each single-row operation of the service is atomic, and the
emulator makes them atomic the simplest way. Cell timestamps are milliseconds from ``clock``
(epoch seconds, wall clock by default; tests may pass a virtual one).
"""
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET   # the emulators share one key
from . import conditions
from .conditions import Columns, Condition
from .errors import OTSError, invalid
from .faults import TablestoreFaults
from .plainbuffer import DELETE_ALL_VERSIONS, DELETE_ONE_VERSION, INCREMENT, VT, Cell, Value

PK_TYPES = {"INTEGER": VT.INTEGER, "STRING": VT.STRING, "BINARY": VT.BLOB}
MAX_PK_COLUMNS = 4
MAX_PK_BYTES = 1024             # a STRING/BINARY primary key column (general limits page)
MAX_VALUE_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 255
PAGE_ROWS = 5000                # GetRange answers at most 5000 rows at a time (the API reference)


@dataclass
class TableOptions:
    time_to_live: int = -1          # seconds; -1: never expire (the emulator does not expire data)
    max_versions: int = 1
    deviation_s: int = 86400        # a written timestamp may differ this much from the server's clock
    allow_update: bool = True


@dataclass
class Table:
    name: str
    primary_key: List[Tuple[str, str]]          # (name, "STRING" | "INTEGER" | "BINARY")
    options: TableOptions
    reserved_read: int = 0
    reserved_write: int = 0
    created_at_ms: int = 0
    rows: Dict[Tuple, Columns] = field(default_factory=dict)   # key values -> columns


@dataclass
class RowView:
    """A row as a read answers it: its primary key and the versions asked for, newest first."""
    primary_key: List[Tuple[str, Value]]
    columns: List[Tuple[str, Value, int]]


@dataclass(frozen=True)
class ReadOptions:
    columns_to_get: Tuple[str, ...] = ()
    max_versions: Optional[int] = None
    time_range: Optional[Tuple[int, int]] = None        # [start, end) ms
    filter: Optional[conditions.ColumnCondition] = None


def _sort_key(value: Value) -> tuple:
    if value.type == VT.INF_MIN:
        return (0,)
    if value.type == VT.INF_MAX:
        return (2,)
    data = value.data.encode("utf-8") if value.type == VT.STRING else value.data
    return (1, data)


class TablestoreBackend:
    """Instances by name, each a set of tables. ``accounts`` maps AccessKey IDs to secrets."""

    def __init__(self, instances: Iterable[str] = ("image-repair",), accounts: Optional[Dict[str, str]] = None,
                 clock: Callable[[], float] = time.time, page_rows: int = PAGE_ROWS):
        self.instances: Dict[str, Dict[str, Table]] = {name: {} for name in instances}
        self.accounts = dict(accounts or {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET})
        self.clock = clock
        self.page_rows = page_rows
        self.faults = TablestoreFaults()
        self.calls: list = []       # wire.Call of every request answered, in order
        self._lock = threading.RLock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---- tables -------------------------------------------------------------------------------
    def create_table(self, instance: str, name: str, primary_key: Sequence[Tuple[str, str]],
                     options: TableOptions, reserved: Tuple[int, int] = (0, 0)) -> None:
        _check_table_name(name)
        if not 1 <= len(primary_key) <= MAX_PK_COLUMNS:
            raise invalid("The number of primary key columns must be in range: [1, %d]." % MAX_PK_COLUMNS)
        names = [column for column, _ in primary_key]
        if len(set(names)) != len(names):
            raise invalid("Duplicated primary key name.")
        for column, kind in primary_key:
            _check_column_name(column)
            if kind not in PK_TYPES:
                raise invalid("Invalid primary key type: %s." % kind)
        if options.max_versions < 1:
            raise invalid("max_versions must be at least 1.")
        if options.time_to_live != -1 and options.time_to_live < 86400:
            raise invalid("time_to_live must be -1 or at least 86400 seconds.")
        with self._lock:
            tables = self._instance(instance)
            if name in tables:
                raise OTSError("OTSObjectAlreadyExist")
            tables[name] = Table(name, list(primary_key), options, reserved[0], reserved[1], self.now_ms())

    def describe_table(self, instance: str, name: str) -> Table:
        with self._lock:
            return self._table(instance, name)

    def list_tables(self, instance: str) -> List[str]:
        with self._lock:
            return sorted(self._instance(instance))

    def delete_table(self, instance: str, name: str) -> None:
        with self._lock:
            self._table(instance, name)
            del self._instance(instance)[name]

    # ---- rows ---------------------------------------------------------------------------------
    def get_row(self, instance: str, table_name: str, primary_key: Sequence[Cell],
                read: ReadOptions) -> Optional[RowView]:
        with self._lock:
            table = self._table(instance, table_name)
            key = self._key(table, primary_key)
            _check_read(read)
            stored = table.rows.get(key)
            if stored is None or not conditions.passes(read.filter, stored):
                return None
            return self._view(table, key, stored, read)

    def put_row(self, instance: str, table_name: str, primary_key: Sequence[Cell], attributes: Sequence[Cell],
                condition: Condition) -> None:
        now = self.now_ms()
        with self._lock:
            table = self._table(instance, table_name)
            key = self._key(table, primary_key)
            columns: Columns = {}
            for cell in self._attribute_cells(table, attributes):
                if cell.op is not None or cell.value is None:
                    raise invalid("PutRow takes values only: column %s has no value or an operation." % cell.name)
                self._add_version(table, columns, cell.name, self._stamp(table, cell, now), cell.value)
            conditions.check(condition, table.rows.get(key))
            table.rows[key] = columns      # a put replaces the whole row, every version of every column

    def update_row(self, instance: str, table_name: str, primary_key: Sequence[Cell], changes: Sequence[Cell],
                   condition: Condition) -> None:
        now = self.now_ms()
        with self._lock:
            table = self._table(instance, table_name)
            key = self._key(table, primary_key)
            changes = self._attribute_cells(table, changes)
            if not changes:
                raise invalid("UpdateRow must change at least one attribute column.")
            existing = table.rows.get(key)
            conditions.check(condition, existing)
            columns = {name: list(versions) for name, versions in (existing or {}).items()}
            for cell in changes:
                self._apply(table, columns, cell, now)
            if columns:
                table.rows[key] = columns
            else:      # nothing left (or nothing written to a missing row): no row (the emulator's reading)
                table.rows.pop(key, None)

    def delete_row(self, instance: str, table_name: str, primary_key: Sequence[Cell], condition: Condition) -> None:
        with self._lock:
            table = self._table(instance, table_name)
            key = self._key(table, primary_key)
            conditions.check(condition, table.rows.get(key))
            table.rows.pop(key, None)

    def get_range(self, instance: str, table_name: str, forward: bool, start: Sequence[Cell], end: Sequence[Cell],
                  read: ReadOptions, limit: Optional[int] = None
                  ) -> Tuple[List[RowView], Optional[List[Tuple[str, Value]]]]:
        """Rows from ``start`` (inclusive) to ``end`` (exclusive), in ``forward`` order, and the
        key to start the next page from when rows are left (None: the range is exhausted)."""
        if limit is not None and limit <= 0:
            raise invalid("The limit must be greater than 0.")
        with self._lock:
            table = self._table(instance, table_name)
            _check_read(read)
            low, high = self._bound(table, start), self._bound(table, end)
            if (low >= high) if forward else (low <= high):
                raise invalid("Begin key must be %s than end key in %s." % (("less", "FORWARD") if forward
                                                                           else ("more", "BACKWARD")))
            keyed = sorted(((tuple(_sort_key(v) for v in key), key) for key in table.rows), reverse=not forward)
            inside = [key for order, key in keyed if (low <= order < high if forward else high < order <= low)]
            page = min(self.page_rows, limit) if limit else self.page_rows
            rows = [self._view(table, key, table.rows[key], read) for key in inside[:page]
                    if conditions.passes(read.filter, table.rows[key])]
            next_start = None
            if len(inside) > page:
                next_start = [(name, value) for (name, _), value in zip(table.primary_key, inside[page])]
            return rows, next_start

    # ---- helpers ------------------------------------------------------------------------------
    def _instance(self, instance: str) -> Dict[str, Table]:
        tables = self.instances.get(instance)
        if tables is None:      # the wire layer refuses unknown instances first (OTSAuthFailed)
            raise OTSError("OTSAuthFailed", "The instance is not found.")
        return tables

    def _table(self, instance: str, name: str) -> Table:
        table = self._instance(instance).get(name)
        if table is None:
            raise OTSError("OTSObjectNotExist")
        return table

    @staticmethod
    def _key(table: Table, primary_key: Sequence[Cell]) -> Tuple[Value, ...]:
        given = [cell.name for cell in primary_key]
        expected = [name for name, _ in table.primary_key]
        if given != expected:
            raise invalid("Validate PK name fail. Input: %s, Meta: %s." % (given, expected))
        for cell, (_, kind) in zip(primary_key, table.primary_key):
            if cell.value is None or cell.value.type != PK_TYPES[kind]:
                found = "none" if cell.value is None else cell.value.type.name
                raise invalid("Validate PK type fail. Input: VT_%s, Meta: VT_%s." % (found, PK_TYPES[kind].name))
            if kind != "INTEGER" and len(_raw(cell.value)) > MAX_PK_BYTES:
                raise invalid("The length of primary key column %s exceeds the limit %d." % (cell.name, MAX_PK_BYTES))
        return tuple(cell.value for cell in primary_key)

    @staticmethod
    def _bound(table: Table, primary_key: Sequence[Cell]) -> tuple:
        """A range bound's sort key: the table's columns, each of its type or INF_MIN / INF_MAX."""
        given = [cell.name for cell in primary_key]
        if given != [name for name, _ in table.primary_key]:
            raise invalid("Validate PK name fail. Input: %s, Meta: %s." % (given, [n for n, _ in table.primary_key]))
        for cell, (_, kind) in zip(primary_key, table.primary_key):
            if cell.value is None or cell.value.type not in (PK_TYPES[kind], VT.INF_MIN, VT.INF_MAX):
                raise invalid("Validate PK type fail for %s." % cell.name)
        return tuple(_sort_key(cell.value) for cell in primary_key)

    @staticmethod
    def _attribute_cells(table: Table, cells: Sequence[Cell]) -> List[Cell]:
        names = [cell.name for cell in cells]
        if len(set(names)) != len(names):
            raise invalid("Duplicated attribute column name in one row.")
        pk_names = {name for name, _ in table.primary_key}
        for cell in cells:
            _check_column_name(cell.name)
            if cell.name in pk_names:
                raise invalid("The attribute column %s has the name of a primary key column." % cell.name)
            if cell.value is not None:
                if cell.value.type not in conditions.COMPARABLE:
                    raise invalid("Invalid value type %s for column %s." % (cell.value.type.name, cell.name))
                if cell.value.type in (VT.STRING, VT.BLOB) and len(_raw(cell.value)) > MAX_VALUE_BYTES:
                    raise invalid("The length of attribute column %s exceeds the limit." % cell.name)
        return list(cells)

    def _stamp(self, table: Table, cell: Cell, now: int) -> int:
        if cell.timestamp is None:
            return now
        if abs(cell.timestamp - now) > table.options.deviation_s * 1000:
            raise invalid("The timestamp of column %s deviates from the server's time by more than %d s."
                          % (cell.name, table.options.deviation_s))
        return cell.timestamp

    @staticmethod
    def _add_version(table: Table, columns: Columns, name: str, stamp: int, value: Value) -> None:
        versions = [(ts, v) for ts, v in columns.get(name, []) if ts != stamp] + [(stamp, value)]
        versions.sort(key=lambda version: version[0], reverse=True)
        columns[name] = versions[:table.options.max_versions]

    def _apply(self, table: Table, columns: Columns, cell: Cell, now: int) -> None:
        if cell.op is None:
            if cell.value is None:
                raise invalid("A put of column %s needs a value." % cell.name)
            self._add_version(table, columns, cell.name, self._stamp(table, cell, now), cell.value)
        elif cell.op == DELETE_ALL_VERSIONS:
            columns.pop(cell.name, None)
        elif cell.op == DELETE_ONE_VERSION:
            if cell.timestamp is None:
                raise invalid("Deleting one version of column %s needs its timestamp." % cell.name)
            kept = [(ts, v) for ts, v in columns.get(cell.name, []) if ts != cell.timestamp]
            if kept:
                columns[cell.name] = kept
            else:
                columns.pop(cell.name, None)
        elif cell.op == INCREMENT:
            if cell.value is None or cell.value.type != VT.INTEGER or cell.timestamp is not None:
                raise invalid("An increment of column %s takes an INTEGER and no timestamp." % cell.name)
            current = columns.get(cell.name)
            if current and current[0][1].type != VT.INTEGER:
                raise invalid("Column %s is not an INTEGER: it cannot be incremented." % cell.name)
            base = current[0][1].data if current else 0
            self._add_version(table, columns, cell.name, now, Value.integer(base + cell.value.data))

    @staticmethod
    def _view(table: Table, key: Tuple[Value, ...], stored: Columns, read: ReadOptions) -> RowView:
        wanted = set(read.columns_to_get)
        columns = []
        for name in sorted(stored):
            if wanted and name not in wanted:
                continue
            versions = stored[name]
            if read.time_range is not None:
                versions = [(ts, v) for ts, v in versions if read.time_range[0] <= ts < read.time_range[1]]
            if read.max_versions is not None:
                versions = versions[:read.max_versions]
            columns.extend((name, value, ts) for ts, value in versions)
        return RowView([(name, value) for (name, _), value in zip(table.primary_key, key)], columns)


def _raw(value: Value) -> bytes:
    return value.data.encode("utf-8") if value.type == VT.STRING else bytes(value.data)


def _check_read(read: ReadOptions) -> None:
    if read.max_versions is None and read.time_range is None:
        raise invalid("Either max_versions or time_range must be set.")
    if read.max_versions is not None and read.max_versions <= 0:
        raise invalid("max_versions must be greater than 0.")
    conditions.validate(read.filter)


def _check_table_name(name: str) -> None:
    if not (1 <= len(name) <= 255 and (name[0].isalpha() or name[0] == "_")
            and all(c.isascii() and (c.isalnum() or c == "_") for c in name)):
        raise invalid("Invalid table name: '%s'." % name)


def _check_column_name(name: str) -> None:
    if not (1 <= len(name) <= MAX_NAME_CHARS and (name[0].isalpha() or name[0] == "_")
            and all(c.isascii() and (c.isalnum() or c == "_") for c in name)):
        raise invalid("Invalid column name: '%s'." % name)
