"""Answered audit records the database cannot take yet, kept on local disk in the order they were answered.

While the audit database is unreachable, the writer appends each group of records to a file of its own
(one per process, locked while it is written), before the answers leave in durable mode. Once the database
is back, every file is written to it oldest first, its own and any left by a killed process, then deleted.
The prediction id is the key, so a file written twice (a kill between the commit and the delete) still
yields each record once. The files are bounded in bytes: past the bound, scoring answers 503.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from msgspec.json import Decoder, Encoder

from services.predictor.audit.backend import AuditStoreError
from services.predictor.audit.record import AuditRecord

SUFFIX = ".spill"
ROOM_BYTES = 4096  # below this much room, the spill counts as full: predictions are refused before they score
DRAIN_SLICE = 5_000  # records per database transaction when a spill file is written back
_encode = Encoder().encode
_decode = Decoder(list).decode


class SpillFull(AuditStoreError):
    """The spill has reached PREDICTOR_AUDIT_SPILL_MAX_BYTES: no more answers until the database is back."""


class Spill:
    """The spill directory of one audit database; shared safely by the processes that write to it."""

    def __init__(self, directory: Path, max_bytes: int, sync: bool) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.sync = sync  # fsync every append: survives a power loss, not only a kill
        self.last_error: str | None = None  # the last write that failed here; None once one succeeds
        self._own: BinaryIO | None = None
        self._records = 0  # records in the files seen at the last scan or written since
        self._refused = False  # a group did not fit: full until drained

    def open(self) -> None:
        """Create the directory (a failure is kept, as readiness reports it) and count what earlier processes
        left (written to the database before anything newer)."""
        self.check_writable()
        self._records = sum(len(_read(path)) for path in self._files())

    def check_writable(self) -> str | None:
        """A real write in the directory, now: the failure (kept as `last_error`) or None."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".probe-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            self.last_error = f"audit spill {self.directory} not writable: {error}"
        else:
            self.last_error = None
        return self.last_error

    @property
    def has_room(self) -> bool:
        """Writable, with room for a few more records (one is about 1 KB)."""
        return self.last_error is None and not self._refused and self.size_bytes() + ROOM_BYTES <= self.max_bytes

    @property
    def records(self) -> int:
        """Records on disk, waiting for the database (as of the last scan, plus this process's since)."""
        return self._records

    def size_bytes(self) -> int:
        return sum(_size(path) for path in self._files())

    def oldest_created_at(self) -> float | None:
        """When the oldest spilled record was answered (the first line of the oldest file), None when none."""
        for path in self._files():
            try:
                with path.open("rb") as handle:
                    first = handle.readline()
            except OSError:
                continue
            if first.endswith(b"\n"):
                return datetime.fromisoformat(AuditRecord(*_decode(first)).created_at).timestamp()
        return None

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Written (and synced, if asked) before returning; SpillFull past the bound, AuditStoreError when
        the disk refuses."""
        data = b"".join(_encode(record) + b"\n" for record in records)
        used = self.size_bytes()
        if used + len(data) > self.max_bytes:
            self._refused = True
            raise SpillFull(
                f"the audit database is unreachable and its spill {self.directory} is full "
                f"({used} of PREDICTOR_AUDIT_SPILL_MAX_BYTES={self.max_bytes} bytes)"
            )
        try:
            own = self._own_file()
            own.write(data)
            own.flush()
            if self.sync:
                os.fsync(own.fileno())
        except OSError as error:
            self._close_own()  # a new file next time (the directory may have been replaced)
            self.last_error = f"audit spill {self.directory} not writable: {error}"
            raise AuditStoreError(self.last_error) from error
        self.last_error = None
        self._records += len(records)

    def drain(self, insert: Callable[[Sequence[AuditRecord]], None]) -> int:
        """Write every spilled file to the database, oldest first, deleting each once committed; the number
        of records written. A file locked by a live process that still writes it is left to that process.
        Raises the database's AuditStoreError (the rest stays on disk, in order)."""
        self._close_own()
        written = 0
        for path in self._files():
            with _locked(path) as handle:
                if handle is None:
                    continue
                records = _parse(handle.read())
                for start in range(0, len(records), DRAIN_SLICE):
                    insert(records[start : start + DRAIN_SLICE])
                path.unlink()
                written += len(records)
        self._records = sum(len(_read(path)) for path in self._files())
        self._refused = False
        return written

    def find(self, prediction_id: str) -> AuditRecord | None:
        needle = prediction_id.encode()
        for path in self._files():
            for record in _read(path) if needle in _raw(path) else ():
                if record.prediction_id == prediction_id:
                    return record
        return None

    def close(self) -> None:
        self._close_own()

    def _own_file(self) -> BinaryIO:
        if self._own is None:
            path = self.directory / f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
            handle = path.open("ab")
            fcntl.flock(handle, fcntl.LOCK_EX)  # a drainer in another process leaves it alone
            self._own = handle
        return self._own

    def _close_own(self) -> None:
        if self._own is not None:
            self._own.close()  # releases the lock: the file is drained like any other
            self._own = None

    def _files(self) -> list[Path]:
        try:
            return sorted(self.directory.glob(f"*{SUFFIX}"))  # names start with the time: oldest first
        except OSError:
            return []


@contextmanager
def _locked(path: Path) -> Iterator[BinaryIO | None]:
    """The file, opened and exclusively locked, or None when another process holds it or it is gone."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # drained by another process a moment ago
        yield None
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle if path.exists() else None  # not drained and deleted between our open and our lock


def _parse(data: bytes) -> list[AuditRecord]:
    """Every whole line; a torn last line (a kill in the middle of a write) was never answered."""
    return [AuditRecord(*_decode(line)) for line in _lines(data)]


def _lines(data: bytes) -> Iterator[bytes]:
    complete = data if data.endswith(b"\n") else data[: data.rfind(b"\n") + 1]
    return (line for line in complete.split(b"\n") if line)


def _raw(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _read(path: Path) -> list[AuditRecord]:
    return _parse(_raw(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
