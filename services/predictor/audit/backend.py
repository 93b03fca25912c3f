"""Where audit records live: SQLite (the embedded default) or PostgreSQL (shared by replicas), chosen by
PREDICTOR_AUDIT_URL. Both give the same guarantees; errors of either surface as AuditStoreError.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from services.predictor.audit.record import AuditRecord


class AuditStoreError(RuntimeError):
    """The database could not do what was asked (unreachable, read-only, full, corrupt)."""


class WriterBusy(Exception):
    """Another process holds the database's write lock and the caller chose not to wait (the event loop)."""


class AuditBackend(Protocol):
    description: str  # for readiness and logs: the URL without its password
    local: bool  # a commit is a write to a file here (cheap enough for the event loop), not a round trip

    def prepare(self) -> None:
        """Create or migrate the schema."""

    def insert(self, records: Sequence[AuditRecord], wait: bool = True) -> None:
        """All of them in one transaction, committed before returning (ids already present are kept).
        wait=False: WriterBusy at once, rather than waiting, when the write lock is held elsewhere."""

    def checkpoint(self) -> None:
        """Housekeeping the writer thread does off the request path (SQLite: fold the WAL into the file)."""

    def check_writable(self) -> None:
        """A real write, now."""

    def fetch(self, prediction_id: str) -> dict[str, Any] | None: ...

    def recent(self, model_version: str, limit: int) -> list[tuple[str, float]]:
        """(input JSON, probability) of the version's latest `limit` records with their input, newest first."""

    def known(self, prediction_ids: Sequence[str]) -> set[str]:
        """Which of these ids are in the log."""

    def record_outcomes(self, outcomes: Sequence[tuple[str, bool, bool | None, str]]) -> None:
        """(prediction id, churned, contacted, recorded at): a later outcome for an id replaces the earlier."""

    def outcomes(self) -> list[tuple[str, float, float, bool, bool | None]]:
        """(model version, probability, threshold, churned, contacted) of every prediction with an outcome."""

    def record_shadow(
        self, scores: Sequence[tuple[str, str, float, str]], drops: Sequence[tuple[str, int, str]]
    ) -> None:
        """The challenger's (prediction id, version, probability, scored at), and (version, records dropped, at)."""

    def shadow_pairs(self, challenger_version: str) -> list[tuple[float, float, bool | None]]:
        """(champion probability, challenger probability, churned or None) of every paired record, by id."""

    def shadow_dropped(self, challenger_version: str) -> int:
        """Records of this challenger that were answered but not scored by it (every process's count)."""

    def purge(self, before: str, limit: int) -> int:
        """Delete up to `limit` records created before `before` (ISO time); the number deleted."""

    def size_bytes(self) -> int | None: ...

    def disk_usage(self) -> tuple[int, int] | None:
        """(free, total) bytes the log may still use: its disk when on this machine, else its quota."""

    def disk_unwatched(self) -> str | None:
        """Why nothing measures how full the log is (AuditDiskFilling cannot fire), or None when something does."""

    def close(self) -> None: ...


def open_backend(url: str, power_safe: bool = False, quota_bytes: int | None = None) -> AuditBackend:
    """`sqlite:///relative/path`, `sqlite:////absolute/path` (SQLAlchemy's convention) or `postgresql://...`.

    Every commit survives a kill of this process. `power_safe` (PREDICTOR_AUDIT_POWER_SAFE): it also
    survives a power loss of the host (SQLite synchronous=FULL; PostgreSQL's synchronous_commit left on).
    `quota_bytes` (PREDICTOR_AUDIT_QUOTA_BYTES): the space a PostgreSQL audit database may use, whose disk is
    not on this machine; SQLite's own disk is measured."""
    if url.startswith("sqlite:///"):
        from services.predictor.audit.sqlite import SqliteBackend

        return SqliteBackend(sqlite_path(url), power_safe)
    if url.startswith(("postgresql://", "postgres://")):
        from services.predictor.audit.postgres import PostgresBackend

        return PostgresBackend(url, power_safe, quota_bytes)
    raise ValueError(f"PREDICTOR_AUDIT_URL {redact(url)!r}: use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def default_spill_dir(url: str, var_dir: Path) -> Path:
    """The spill belongs to the database, not to a process or a model cache: beside the SQLite file, or under
    var/ keyed by the PostgreSQL server and database (never the password), so a restarted predictor finds
    it and predictors on different databases never mix."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        return path.with_name(path.name + ".spill")
    parts = urlsplit(url)
    key = f"{parts.hostname or 'local'}-{parts.port or 5432}-{parts.path.strip('/') or 'postgres'}"
    return var_dir / "predictor" / "audit-spill" / "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


def redact(url: str) -> str:
    """The URL with its password replaced: fit for logs, readiness and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
