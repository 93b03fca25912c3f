"""Durable audit log of every prediction (SQLite, WAL), written in batches off the request path.

Records wait in memory until a background thread commits them; a failed commit keeps them pending
(never dropped) and marks the log unhealthy, which readiness reports and /predict refuses on.
`close()` flushes everything, so a clean shutdown (SIGTERM) loses nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from msgspec import Struct
from msgspec.json import Encoder

from services.common.customer import ID_FIELD

log = logging.getLogger(__name__)
WRITE_SLICE = 200  # audit rows built and inserted between two GIL hand-overs (~1 ms of work)
_SORTED_JSON = Encoder(order="sorted")

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
    api_key_id TEXT
);
CREATE TABLE IF NOT EXISTS writability_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at REAL NOT NULL);
"""
COLUMNS = (
    "prediction_id, created_at, customer_id, model_name, model_version, run_id, "
    "input_sha256, churn_probability, churn, api_key_id"
)


class AuditRecord(NamedTuple):
    """One row; a tuple already, so writing 10,000 costs no conversion."""

    prediction_id: str
    created_at: str
    customer_id: str
    model_name: str
    model_version: str
    run_id: str
    input_sha256: str
    churn_probability: float
    churn: bool
    api_key_id: str | None


class AuditBatch(NamedTuple):
    """The predictions of one request, kept as given until written: the writer thread builds the rows,
    formats the time and hashes the inputs, so a request does not pay for that before it answers."""

    created_at: float  # time.time()
    model_name: str
    model_version: str
    run_id: str
    api_key_id: str | None
    threshold: float
    prediction_ids: Sequence[str]
    probabilities: Sequence[float]
    inputs: Sequence[Struct]  # the validated records

    @property
    def size(self) -> int:
        return len(self.prediction_ids)

    def records(self) -> Iterator[AuditRecord]:
        created_at = datetime.fromtimestamp(self.created_at, UTC).isoformat(timespec="microseconds")
        for prediction_id, probability, row in zip(self.prediction_ids, self.probabilities, self.inputs, strict=True):
            yield AuditRecord(
                prediction_id,
                created_at,
                getattr(row, ID_FIELD),
                self.model_name,
                self.model_version,
                self.run_id,
                input_sha256(row),
                probability,
                probability >= self.threshold,
                self.api_key_id,
            )

    def find(self, prediction_id: str) -> AuditRecord | None:
        for record in self.records() if prediction_id in self.prediction_ids else ():
            if record.prediction_id == prediction_id:
                return record
        return None


def input_sha256(row: Struct) -> str:
    """The canonical hash of a validated record: sha256 of its compact JSON with sorted keys."""
    return sha256(_SORTED_JSON.encode(row)).hexdigest()


class AuditLog:
    """Batched, durable writer plus lookups; one per process (several processes may share the file)."""

    def __init__(self, path: Path, flush_seconds: float) -> None:
        self.path = path
        self.flush_seconds = flush_seconds
        self.last_error: str | None = None
        self._pending: list[AuditBatch] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Check the file now (a failure is recorded, not raised: readiness reports it); start the writer."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self._record_failure(f"cannot create {self.path.parent}: {error}")
        self.check_writable()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    @property
    def pending(self) -> int:
        """Predictions not yet committed."""
        with self._lock:
            return sum(batch.size for batch in self._pending)

    def submit(self, batch: AuditBatch) -> None:
        with self._lock:
            self._pending.append(batch)

    def flush(self) -> None:
        """Commit everything pending now; on failure keep it pending and remember why."""
        with self._lock:
            batches, self._pending = self._pending, []
        if not batches:
            return
        try:
            records = (record for batch in batches for record in batch.records())
            with self._connect() as connection:  # one transaction, written in slices
                while chunk := list(islice(records, WRITE_SLICE)):
                    connection.executemany(
                        f"INSERT OR IGNORE INTO predictions ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", chunk
                    )
                    # Building rows holds the GIL; yield it between slices so requests are not kept
                    # waiting for the interpreter's 5 ms switch interval.
                    time.sleep(0)
        except (OSError, sqlite3.Error) as error:
            with self._lock:
                self._pending[:0] = batches
            self._record_failure(f"audit write failed: {error}")
            return
        self.last_error = None

    def check_writable(self) -> str | None:
        """A real write to the file, now; returns the failure (also kept as `last_error`) or None."""
        try:
            with self._connect() as connection:
                connection.execute(
                    "INSERT OR REPLACE INTO writability_probe (id, checked_at) VALUES (1, ?)", (time.time(),)
                )
        except (OSError, sqlite3.Error) as error:
            self._record_failure(f"audit log not writable: {error}")
            return self.last_error
        if self.pending == 0:
            self.last_error = None
        return self.last_error

    def get(self, prediction_id: str) -> dict[str, Any] | None:
        """One record by id, including any not yet committed."""
        self.flush()
        with self._lock:
            batches = list(self._pending)
        for batch in batches:
            record = batch.find(prediction_id)
            if record is not None:
                return _as_dict(record)
        try:
            with self._connect() as connection:
                connection.row_factory = sqlite3.Row
                row = connection.execute(
                    f"SELECT {COLUMNS} FROM predictions WHERE prediction_id = ?", (prediction_id,)
                ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else {**dict(row), "churn": bool(row["churn"])}

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer and flush what is left (called on shutdown)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()
        if self._pending:
            log.error("audit records could not be written at shutdown", extra={"count": len(self._pending)})

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection in one transaction: committed on success, rolled back on error."""
        connection = sqlite3.connect(self.path, timeout=10)
        try:
            # WAL: readers never block the writer; NORMAL sync survives a killed process.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(SCHEMA)  # cheap when present; recreates a lost file's tables
            with connection:
                yield connection
        finally:
            connection.close()

    def _record_failure(self, message: str) -> None:
        if message != self.last_error:
            log.error("audit log failure", extra={"error": message, "pending": self.pending})
        self.last_error = message


def _as_dict(record: AuditRecord) -> dict[str, Any]:
    return {**record._asdict(), "churn": bool(record.churn)}
