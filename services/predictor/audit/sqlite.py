"""The SQLite audit log (WAL). One writer connection, kept open; lookups and checks use their own."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

from services.predictor.audit.backend import AuditStoreError, WriterBusy
from services.predictor.audit.record import ADDED_COLUMNS, COLUMN_NAMES, COLUMNS, SHADOW_PAIRS, AuditRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    prediction_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    run_id TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    churn_probability REAL NOT NULL,
    churn INTEGER NOT NULL,
    api_key_id TEXT,
    threshold REAL,
    warnings TEXT,
    request_id TEXT,
    input_json TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    prediction_id TEXT PRIMARY KEY,
    churned INTEGER NOT NULL,
    contacted INTEGER,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS writability_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_scores (
    prediction_id TEXT NOT NULL,
    challenger_version TEXT NOT NULL,
    probability REAL NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (prediction_id, challenger_version)
);
CREATE TABLE IF NOT EXISTS shadow_drops (
    challenger_version TEXT NOT NULL, records INTEGER NOT NULL, recorded_at TEXT NOT NULL
);
"""
INDEX = "CREATE INDEX IF NOT EXISTS predictions_created_at ON predictions (created_at)"
ROW_MARKS = f"({', '.join('?' * len(COLUMN_NAMES))})"
# Rows inserted per statement, and between two GIL hand-overs (~1 ms of work). One statement for many rows:
# sqlite3 releases the GIL at every step, and with requests waiting each release is a thread switch
# (executemany measured 13 us of CPU a row beside a busy thread, one multi-row statement 5.5 us).
WRITE_SLICE = 200
# A group commit on the event loop is usually a few records: one statement for them all (a dozen small statements
# cached) costs less than executemany's per-row steps.
SMALL_GROUP = 16
# How often the writer thread folds the WAL into the file, when this process committed since. The WAL file
# never shrinks, so its size cannot say whether a checkpoint is due: it said "always" once past 4 MB.
CHECKPOINT_SECONDS = 0.5
BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's lock (the writer thread's writes)


def insert_statement(rows: int) -> str:
    """INSERT OR IGNORE of `rows` records in one statement (a retried flush may resend a committed one)."""
    return f"INSERT OR IGNORE INTO predictions ({COLUMNS}) VALUES {', '.join([ROW_MARKS] * rows)}"


def rows_per_statement(connection: sqlite3.Connection) -> int:
    """SQLite before 3.32 binds at most 999 values a statement: ask the library, never assume."""
    return min(WRITE_SLICE, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMN_NAMES))


class SqliteBackend:
    def __init__(self, path: Path, power_safe: bool) -> None:
        self.path = path
        self._path_text = str(path)
        self.local = True
        self.description = f"sqlite:///{path}"
        # NORMAL (WAL): a commit is in the file before it returns, so a killed process loses nothing
        # committed; a power cut may lose the last commits. FULL: the WAL is synced at each (group) commit.
        self.synchronous = "FULL" if power_safe else "NORMAL"
        # Two kept write connections: one that waits for another process's lock (the writer thread's) and
        # one that never does (the event loop's), so no commit pays to switch its busy timeout.
        self._writers: dict[bool, tuple[sqlite3.Connection, int]] = {}
        self._shadow_writer: sqlite3.Connection | None = None  # the shadow lane thread's only
        self._checkpointer: tuple[sqlite3.Connection, int] | None = None  # the writer thread's only
        self._written = False  # committed since the last checkpoint
        self._next_checkpoint = 0.0
        self._lock = threading.Lock()

    def prepare(self) -> None:
        with self._errors("audit log cannot be opened"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as connection:
                present = {row[1] for row in connection.execute("PRAGMA table_info(predictions)")}
                for name, kind in ADDED_COLUMNS.items():
                    if name not in present:
                        connection.execute(f"ALTER TABLE predictions ADD COLUMN {name} {kind}")
                connection.execute(INDEX)

    def insert(self, records: Sequence[AuditRecord], wait: bool = True) -> None:
        if not self._lock.acquire(blocking=wait):
            raise WriterBusy("this process's writer thread is writing")
        try:
            with self._errors("audit write failed"):
                self._insert(records, wait)
        finally:
            self._lock.release()

    def _insert(self, records: Sequence[AuditRecord], wait: bool) -> None:
        writer = self._current_writer(wait)
        try:
            per_statement = rows_per_statement(writer)
            with writer:  # one transaction, written in slices
                for start in range(0, len(records), per_statement):
                    if start:  # hand the GIL to requests between slices; never after the last (80 us here)
                        time.sleep(0)
                    rows = records[start : start + per_statement]
                    if len(rows) == per_statement or len(rows) <= SMALL_GROUP:  # one statement for all its rows
                        writer.execute(insert_statement(len(rows)), list(chain.from_iterable(rows)))
                    else:  # the rest row by row: one statement of each size would be cached (~60 MB seen)
                        writer.executemany(insert_statement(1), rows)
            self._written = True
        except sqlite3.OperationalError as error:
            if not wait and "locked" in str(error):  # another process is committing: let the writer wait
                raise WriterBusy(str(error)) from error
            self._renew(wait)
            raise
        except sqlite3.Error:
            self._renew(wait)
            raise

    def checkpoint(self) -> None:
        """Copy what this process committed from the WAL into the database, at most every CHECKPOINT_SECONDS
        (writes never do it themselves: a checkpoint syncs the file, and the event loop's commits must not pay
        for that). PASSIVE: it never waits for a writer nor blocks one. Called by the writer thread, on a kept
        connection (opening one, with its pragmas and schema, cost more than the checkpoint)."""
        if not self._written or time.monotonic() < self._next_checkpoint:
            return
        self._written = False
        self._next_checkpoint = time.monotonic() + CHECKPOINT_SECONDS
        with self._errors("audit checkpoint failed"):
            self._checkpointer = self._kept(self._checkpointer, BUSY_TIMEOUT_MS)
            try:
                self._checkpointer[0].execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                self._checkpointer[0].close()
                self._checkpointer = None
                raise

    def _renew(self, wait: bool) -> None:
        """A fresh connection next time (the file may have been replaced)."""
        writer, _ = self._writers.pop(wait)
        writer.close()

    def check_writable(self) -> None:
        with self._errors("audit log not writable"), self._connection() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO writability_probe (id, checked_at) VALUES (1, ?)", (time.time(),)
            )

    def fetch(self, prediction_id: str) -> dict[str, Any] | None:
        with self._errors("audit log unreadable"), self._connection() as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute(f"SELECT {COLUMNS} FROM predictions WHERE prediction_id = ?", (prediction_id,))
            found = row.fetchone()
        return None if found is None else dict(found)

    def recent(self, model_version: str, limit: int) -> list[tuple[str, float]]:
        with self._errors("audit log unreadable"), self._connection() as connection:
            rows = connection.execute(
                "SELECT input_json, churn_probability FROM predictions WHERE model_version = ? "
                "AND input_json IS NOT NULL ORDER BY created_at DESC LIMIT ?",
                (model_version, limit),
            )
            return [(str(raw), float(probability)) for raw, probability in rows]

    def known(self, prediction_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._errors("audit log unreadable"), self._connection() as connection:
            for start in range(0, len(prediction_ids), 500):
                chunk = list(prediction_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT prediction_id FROM predictions WHERE prediction_id IN ({marks})"
                found.update(row[0] for row in connection.execute(query, chunk))
        return found

    def record_outcomes(self, outcomes: Sequence[tuple[str, bool, bool | None, str]]) -> None:
        with self._errors("outcomes not recorded"), self._connection() as connection:
            connection.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?)", outcomes)

    def outcomes(self) -> list[tuple[str, float, float, bool, bool | None]]:
        with self._errors("audit log unreadable"), self._connection() as connection:
            rows = connection.execute(
                "SELECT p.model_version, p.churn_probability, p.threshold, o.churned, o.contacted "
                "FROM outcomes o JOIN predictions p ON p.prediction_id = o.prediction_id"
            )
            return [
                (str(v), float(p), float("nan") if t is None else float(t), bool(c), None if k is None else bool(k))
                for v, p, t, c, k in rows
            ]

    def record_shadow(
        self, scores: Sequence[tuple[str, str, float, str]], drops: Sequence[tuple[str, int, str]]
    ) -> None:
        """On the shadow lane's own kept connection (opening one costs more than the write): a short write
        transaction, so a commit on the event loop rarely finds the write lock taken."""
        with self._errors("shadow scores not recorded"):
            if self._shadow_writer is None:
                self._shadow_writer = self._open()
                self._shadow_writer.execute("PRAGMA wal_autocheckpoint = 0")  # the writer thread checkpoints
            try:
                with self._shadow_writer:
                    self._shadow_writer.executemany("INSERT OR IGNORE INTO shadow_scores VALUES (?, ?, ?, ?)", scores)
                    self._shadow_writer.executemany("INSERT INTO shadow_drops VALUES (?, ?, ?)", drops)
                self._written = True
            except sqlite3.Error:
                self._shadow_writer.close()  # a fresh connection next time (the file may have been replaced)
                self._shadow_writer = None
                raise

    def shadow_pairs(self, challenger_version: str) -> list[tuple[float, float, bool | None]]:
        with self._errors("audit log unreadable"), self._connection() as connection:
            rows = connection.execute(SHADOW_PAIRS.replace("%s", "?"), (challenger_version,))
            return [(float(h), float(c), None if o is None else bool(o)) for h, c, o in rows]

    def shadow_dropped(self, challenger_version: str) -> int:
        with self._errors("audit log unreadable"), self._connection() as connection:
            query = "SELECT COALESCE(SUM(records), 0) FROM shadow_drops WHERE challenger_version = ?"
            return int(connection.execute(query, (challenger_version,)).fetchone()[0])

    def purge(self, before: str, limit: int) -> int:
        with self._errors("audit retention failed"), self._connection() as connection:
            connection.execute(
                "DELETE FROM shadow_scores WHERE rowid IN "
                "(SELECT rowid FROM shadow_scores WHERE scored_at < ? LIMIT ?)",
                (before, limit),
            )
            cursor = connection.execute(
                "DELETE FROM predictions WHERE rowid IN "
                "(SELECT rowid FROM predictions WHERE created_at < ? ORDER BY created_at LIMIT ?)",
                (before, limit),
            )
            return cursor.rowcount

    def size_bytes(self) -> int | None:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) if self.path.exists() else None

    def disk_usage(self) -> tuple[int, int] | None:
        try:
            usage = shutil.disk_usage(self.path.parent)
        except OSError:
            return None
        return usage.free, usage.total

    def disk_unwatched(self) -> str | None:
        return None

    def close(self) -> None:
        with self._lock:
            for writer, _ in self._writers.values():
                writer.close()
            self._writers.clear()
            if self._shadow_writer is not None:
                self._shadow_writer.close()
                self._shadow_writer = None
            if self._checkpointer is not None:
                self._checkpointer[0].close()
                self._checkpointer = None

    def _current_writer(self, wait: bool) -> sqlite3.Connection:
        kept = self._kept(self._writers.get(wait), BUSY_TIMEOUT_MS if wait else 0)
        self._writers[wait] = kept
        return kept[0]

    def _kept(
        self, kept: tuple[sqlite3.Connection, int] | None, busy_timeout_ms: int
    ) -> tuple[sqlite3.Connection, int]:
        """A kept connection with the file's inode, unless the file was removed or replaced: then a new one
        (and new tables), never writes into a file nobody will read."""
        try:
            inode: int | None = os.stat(self._path_text).st_ino  # one system call a commit; pathlib's adds ~2 us
        except FileNotFoundError:
            inode = None
        if kept is not None and kept[1] == inode:
            return kept
        if kept is not None:
            kept[0].close()
        connection = self._open(busy_timeout_ms=busy_timeout_ms)
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoint() does it, off the request path
        return connection, self.path.stat().st_ino

    def _open(self, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=busy_timeout_ms / 1000, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        connection.execute(f"PRAGMA synchronous={self.synchronous}")
        connection.executescript(SCHEMA)  # cheap when present; recreates a lost file's tables
        return connection

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection in one transaction: committed on success, rolled back on error."""
        connection = self._open()
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except (OSError, sqlite3.Error) as error:
            raise AuditStoreError(f"{what}: {error}") from error
