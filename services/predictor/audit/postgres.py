"""The PostgreSQL audit log (psycopg 3), shared by every replica: one writer connection, kept open and
renewed after an error; lookups on a connection per thread. Errors surface as AuditStoreError."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row

from services.predictor.audit.backend import AuditStoreError, redact
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
    churn_probability DOUBLE PRECISION NOT NULL,
    churn BOOLEAN NOT NULL,
    api_key_id TEXT,
    threshold DOUBLE PRECISION,
    warnings TEXT,
    request_id TEXT,
    input_json TEXT
);
CREATE INDEX IF NOT EXISTS predictions_created_at ON predictions (created_at);
CREATE TABLE IF NOT EXISTS outcomes (
    prediction_id TEXT PRIMARY KEY,
    churned BOOLEAN NOT NULL,
    contacted BOOLEAN,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS writability_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS shadow_scores (
    prediction_id TEXT NOT NULL,
    challenger_version TEXT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (prediction_id, challenger_version)
);
CREATE TABLE IF NOT EXISTS shadow_drops (
    challenger_version TEXT NOT NULL, records INTEGER NOT NULL, recorded_at TEXT NOT NULL
);
"""
PG_TYPES = {"REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}
# COPY into a per-connection staging table, then one INSERT ... SELECT: far less work for the server
# than a row-by-row INSERT, and ids already present (a retried commit) are still kept once.
STAGING = "CREATE TEMP TABLE IF NOT EXISTS audit_staging (LIKE predictions) ON COMMIT DELETE ROWS"
COPY = f"COPY audit_staging ({COLUMNS}) FROM STDIN"
MERGE = (
    f"INSERT INTO predictions ({COLUMNS}) SELECT {COLUMNS} FROM audit_staging ON CONFLICT (prediction_id) DO NOTHING"
)
CONNECT_TIMEOUT = 5
ASYNCHRONOUS_COMMIT = "SET synchronous_commit TO off"  # PREDICTOR_AUDIT_POWER_SAFE off: see open_backend
# A group commit of up to this many records is one multi-row INSERT (a round trip); COPY's four round trips
# (BEGIN, COPY, INSERT ... SELECT, COMMIT) pay off only for larger ones.
SMALL_GROUP = 32
# The event loop's commit sends its group as one JSON parameter: psycopg adapting 14 parameters a record cost
# ~35 us of the loop's CPU each (measured 273 us for 4 records, 144 us as JSON), and the server parses JSON on
# its own core. Numbers keep their shortest round-trip text, so every value reads back identical.
JSON_INSERT = (
    f"INSERT INTO predictions ({COLUMNS}) SELECT {COLUMNS} FROM json_populate_recordset(NULL::predictions, %s) "
    "ON CONFLICT (prediction_id) DO NOTHING"
)
_encode_json = msgspec.json.Encoder().encode
_ROW_MARKS = f"({', '.join(['%s'] * len(COLUMN_NAMES))})"


@lru_cache(maxsize=SMALL_GROUP)
def small_insert(rows: int) -> str:
    values = ", ".join([_ROW_MARKS] * rows)
    return f"INSERT INTO predictions ({COLUMNS}) VALUES {values} ON CONFLICT (prediction_id) DO NOTHING"


class PostgresBackend:
    def __init__(self, url: str, power_safe: bool = False, quota_bytes: int | None = None) -> None:
        self.url = url
        self.quota_bytes = quota_bytes
        self.local = False
        self.description = redact(url)
        self.power_safe = power_safe
        self._writer: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._readers = threading.local()
        self._async_writer: psycopg.AsyncConnection[Any] | None = None  # the event loop's (one commit in flight)

    def prepare(self) -> None:
        with self._errors("audit log cannot be opened"), self._connect() as connection, connection.transaction():
            # Replicas start together: one at a time creates or migrates the schema.
            connection.execute("SELECT pg_advisory_xact_lock(7710101)")
            connection.execute(SCHEMA)
            for name, kind in ADDED_COLUMNS.items():
                connection.execute(f"ALTER TABLE predictions ADD COLUMN IF NOT EXISTS {name} {PG_TYPES[kind]}")

    def insert(self, records: Sequence[AuditRecord], wait: bool = True) -> None:  # always waits (thread only)
        with self._lock, self._errors("audit write failed"):
            if self._writer is None or self._writer.closed:
                self._writer = self._connect()
                self._writer.execute(STAGING)
                if not self.power_safe:  # committed in the server once this returns: any kill of ours keeps it;
                    self._writer.execute(ASYNCHRONOUS_COMMIT)  # a crash of the server may lose ~0.6 s
            try:
                if len(records) <= SMALL_GROUP:  # one statement, its own transaction: one round trip
                    self._writer.execute(small_insert(len(records)), list(chain.from_iterable(records)))
                    return
                with self._writer.transaction(), self._writer.cursor() as cursor:
                    with cursor.copy(COPY) as copy:
                        for record in records:
                            copy.write_row(record)
                    cursor.execute(MERGE)
            except psycopg.Error:
                self._writer.close()  # a fresh connection next time
                self._writer = None
                raise

    async def insert_async(self, records: Sequence[AuditRecord]) -> None:
        """The event loop's group commit: the round trip is awaited, so the loop serves other requests meanwhile,
        with no thread hand-over (a thread waiting for the GIL behind a busy loop added milliseconds). One kept
        connection per commit in flight; one that failed or was interrupted is closed, never reused."""
        connection, self._async_writer = self._async_writer, None  # taken while in use
        try:
            if connection is None or connection.closed:
                connection = await psycopg.AsyncConnection.connect(
                    self.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True
                )
                if not self.power_safe:  # as for the writer thread's connection (insert)
                    await connection.execute(ASYNCHRONOUS_COMMIT)
            rows = _encode_json([dict(zip(COLUMN_NAMES, record, strict=True)) for record in records])
            await connection.execute(JSON_INSERT, (rows.decode(),))
        except BaseException as error:  # a timeout or cancellation leaves the connection mid-statement
            if connection is not None:
                connection.pgconn.finish()
            if isinstance(error, psycopg.Error | OSError):
                raise AuditStoreError(f"audit write failed: {error}") from error
            raise
        self._async_writer = connection

    def checkpoint(self) -> None:
        """The server checkpoints on its own."""

    def check_writable(self) -> None:
        with self._errors("audit log not writable"), self._connect() as connection:
            connection.execute(
                "INSERT INTO writability_probe (id, checked_at) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at",
                (time.time(),),
            )

    def fetch(self, prediction_id: str) -> dict[str, Any] | None:
        with self._errors("audit log unreadable"):
            reader = self._reader()
            try:
                row = reader.execute(
                    f"SELECT {COLUMNS} FROM predictions WHERE prediction_id = %s", (prediction_id,)
                ).fetchone()
            except psycopg.Error:
                reader.close()
                raise
            return None if row is None else dict(row)

    def recent(self, model_version: str, limit: int) -> list[tuple[str, float]]:
        with self._errors("audit log unreadable"):
            reader = self._reader()
            try:
                rows = reader.execute(
                    "SELECT input_json, churn_probability FROM predictions WHERE model_version = %s "
                    "AND input_json IS NOT NULL ORDER BY created_at DESC LIMIT %s",
                    (model_version, limit),
                ).fetchall()
            except psycopg.Error:
                reader.close()
                raise
            return [(str(row["input_json"]), float(row["churn_probability"])) for row in rows]

    def known(self, prediction_ids: Sequence[str]) -> set[str]:
        with self._errors("audit log unreadable"), self._connect() as connection:
            rows = connection.execute(
                "SELECT prediction_id FROM predictions WHERE prediction_id = ANY(%s)", (list(prediction_ids),)
            )
            return {row["prediction_id"] for row in rows}

    def record_outcomes(self, outcomes: Sequence[tuple[str, bool, bool | None, str]]) -> None:
        with self._errors("outcomes not recorded"), self._connect() as connection, connection.transaction():
            connection.cursor().executemany(
                "INSERT INTO outcomes VALUES (%s, %s, %s, %s) ON CONFLICT (prediction_id) DO UPDATE SET "
                "churned = EXCLUDED.churned, contacted = EXCLUDED.contacted, recorded_at = EXCLUDED.recorded_at",
                outcomes,
            )

    def outcomes(self) -> list[tuple[str, float, float, bool, bool | None]]:
        with self._errors("audit log unreadable"), self._connect() as connection:
            rows = connection.execute(
                "SELECT p.model_version, p.churn_probability, p.threshold, o.churned, o.contacted "
                "FROM outcomes o JOIN predictions p ON p.prediction_id = o.prediction_id"
            )
            return [
                (
                    str(r["model_version"]),
                    float(r["churn_probability"]),
                    float("nan") if r["threshold"] is None else float(r["threshold"]),
                    bool(r["churned"]),
                    r["contacted"],
                )
                for r in rows
            ]

    def record_shadow(
        self, scores: Sequence[tuple[str, str, float, str]], drops: Sequence[tuple[str, int, str]]
    ) -> None:
        """On the calling thread's kept connection (the shadow lane's own)."""
        with self._errors("shadow scores not recorded"):
            connection = self._reader()
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    if scores:
                        cursor.executemany(
                            "INSERT INTO shadow_scores VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", scores
                        )
                    if drops:
                        cursor.executemany("INSERT INTO shadow_drops VALUES (%s, %s, %s)", drops)
            except psycopg.Error:
                connection.close()
                raise

    def shadow_pairs(self, challenger_version: str) -> list[tuple[float, float, bool | None]]:
        with self._errors("audit log unreadable"), self._connect() as connection:
            rows = connection.execute(SHADOW_PAIRS, (challenger_version,))
            return [(float(r["churn_probability"]), float(r["probability"]), r["churned"]) for r in rows]

    def shadow_dropped(self, challenger_version: str) -> int:
        with self._errors("audit log unreadable"), self._connect() as connection:
            row = connection.execute(
                "SELECT COALESCE(SUM(records), 0) AS dropped FROM shadow_drops WHERE challenger_version = %s",
                (challenger_version,),
            ).fetchone()
            return 0 if row is None else int(row["dropped"])

    def purge(self, before: str, limit: int) -> int:
        with self._errors("audit retention failed"), self._connect() as connection:
            connection.execute(
                "DELETE FROM shadow_scores WHERE ctid IN "
                "(SELECT ctid FROM shadow_scores WHERE scored_at < %s LIMIT %s)",
                (before, limit),
            )
            cursor = connection.execute(
                "DELETE FROM predictions WHERE ctid IN "
                "(SELECT ctid FROM predictions WHERE created_at < %s ORDER BY created_at LIMIT %s)",
                (before, limit),
            )
            return cursor.rowcount

    def size_bytes(self) -> int | None:
        try:
            reader = self._reader()
            row = reader.execute("SELECT pg_total_relation_size('predictions') AS size").fetchone()
        except psycopg.Error:
            return None
        return None if row is None else int(row["size"])

    def disk_usage(self) -> tuple[int, int] | None:
        """The database's size against its quota: its disk is not on this machine."""
        if self.quota_bytes is None:
            return None
        try:
            row = self._reader().execute("SELECT pg_database_size(current_database()) AS size").fetchone()
        except psycopg.Error:
            return None
        used = 0 if row is None else int(row["size"])
        return max(self.quota_bytes - used, 0), self.quota_bytes

    def disk_unwatched(self) -> str | None:
        if self.quota_bytes is not None:
            return None
        return (
            "the audit database's disk is not watched: PostgreSQL's disk is not on this machine and "
            "PREDICTOR_AUDIT_QUOTA_BYTES is not set, so AuditDiskFilling cannot fire; set the quota, "
            "or watch the disk where PostgreSQL runs"
        )

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        if self._async_writer is not None:
            self._async_writer.pgconn.finish()  # its loop may be gone: the socket is closed directly
            self._async_writer = None

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True, row_factory=dict_row)

    def _reader(self) -> psycopg.Connection[Any]:
        reader: psycopg.Connection[Any] | None = getattr(self._readers, "connection", None)
        if reader is None or reader.closed:
            reader = self._readers.connection = self._connect()
        return reader

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except (OSError, psycopg.Error) as error:
            raise AuditStoreError(f"{what}: {str(error).strip() or type(error).__name__}") from error
