"""SQLite adapter: the embedded default store (one file, safe across threads and processes).

Every conditional write is one SQL statement inside an IMMEDIATE transaction: SQLite takes the
database write lock before reading the condition, so two processes cannot both see "absent".
Each thread gets its own connection (sqlite3 connections must not be shared across threads) and
a forked child opens new ones (a connection must not cross fork()).
"""
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

from .base import StateStore, StoredRow

COLUMNS = ("pk", "kind", "key", "status", "owner", "expires_at_ms", "version", "data", "updated_at_ms")

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    pk TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_kind ON records (kind);
"""

# Insert, or overwrite only when the existing row expired or belongs to :claimant.
UPSERT_IF_ABSENT_OR_EXPIRED = """
INSERT INTO records (pk, kind, key, status, owner, expires_at_ms, version, data, updated_at_ms)
VALUES (:pk, :kind, :key, :status, :owner, :expires_at_ms, :version, :data, :updated_at_ms)
ON CONFLICT (pk) DO UPDATE SET
    kind = excluded.kind, key = excluded.key, status = excluded.status, owner = excluded.owner,
    expires_at_ms = excluded.expires_at_ms, version = excluded.version, data = excluded.data,
    updated_at_ms = excluded.updated_at_ms
WHERE records.expires_at_ms <= :now_ms OR (:claimant IS NOT NULL AND records.owner = :claimant)
"""

UPDATE_IF_VERSION = """
UPDATE records SET kind = :kind, key = :key, status = :status, owner = :owner,
    expires_at_ms = :expires_at_ms, version = :version, data = :data, updated_at_ms = :updated_at_ms
WHERE pk = :pk AND version = :expected_version
"""

BUSY_TIMEOUT_S = 30.0
INIT_ATTEMPTS = 20


class SQLiteStore(StateStore):
    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self._local = threading.local()
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._initialise()

    def _initialise(self) -> None:
        """WAL mode (readers never block the writer) and the schema, once per file. Switching the
        journal mode needs the file to itself, and SQLite may answer "locked" at once rather than
        wait while other processes open it: retry briefly."""
        conn = self._connection()
        for attempt in range(INIT_ATTEMPTS):
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                with self._write() as writer:
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            writer.execute(statement)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == INIT_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            # SQLite may already have rolled back (an I/O error does): do not hide the cause.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

    @staticmethod
    def _from_sql(record: sqlite3.Row) -> StoredRow:
        return StoredRow(**{name: record[name] for name in COLUMNS})

    def _get(self, pk: str) -> Optional[StoredRow]:
        record = self._connection().execute("SELECT * FROM records WHERE pk = ?", (pk,)).fetchone()
        return None if record is None else self._from_sql(record)

    def _put_if_absent_or_expired(self, row: StoredRow, now_ms: int, owner: Optional[str] = None) -> bool:
        with self._write() as conn:
            cursor = conn.execute(UPSERT_IF_ABSENT_OR_EXPIRED, {**row.__dict__, "now_ms": now_ms, "claimant": owner})
            return cursor.rowcount == 1

    def _update_if(self, row: StoredRow, expected_version: int) -> bool:
        with self._write() as conn:
            cursor = conn.execute(UPDATE_IF_VERSION, {**row.__dict__, "expected_version": expected_version})
            return cursor.rowcount == 1

    def _delete(self, pk: str, owner: Optional[str] = None) -> bool:
        with self._write() as conn:
            if owner is None:
                cursor = conn.execute("DELETE FROM records WHERE pk = ?", (pk,))
            else:
                cursor = conn.execute("DELETE FROM records WHERE pk = ? AND owner = ?", (pk, owner))
            return cursor.rowcount == 1

    def _scan(self, kind: str) -> Iterable[StoredRow]:
        records = self._connection().execute("SELECT * FROM records WHERE kind = ? ORDER BY pk", (kind,))
        return [self._from_sql(record) for record in records.fetchall()]

    def _delete_if_expired(self, pk: str, now_ms: int) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM records WHERE pk = ? AND expires_at_ms <= ?", (pk, now_ms))
            return cursor.rowcount == 1
