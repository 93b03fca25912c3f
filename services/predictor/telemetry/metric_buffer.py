"""Several workers: counters and histograms add up in the worker and reach the shared files once a second.

prometheus-client's multi-process value takes a process-wide lock and writes its mmap file at every
update: 0.70 us a counter and 1.50 us a histogram here, against 0.24 and 0.48 in one process, with four
updates a prediction. A buffered value adds to a float; `flush()` hands the sums to the shared value
every second, before the worker answers /metrics, and at shutdown. Gauges write through: they are set,
not summed, and some are read per process (liveall).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from prometheus_client import values

FLUSH_SECONDS = 1.0
SUMMED = ("counter", "histogram")  # a histogram's buckets, sum and count are all counted

_buffered: list[BufferedValue] = []
_shared_class: Any = None  # prometheus-client's own value class, kept once buffering is on


class BufferedValue:
    """Increments wait here until `flush()`; reads flush first, so a value read is never behind."""

    def __init__(self, shared: Any) -> None:
        self._shared = shared
        self._pending = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float) -> None:
        with self._lock:
            self._pending += amount

    def flush(self) -> None:
        with self._lock:
            amount, self._pending = self._pending, 0.0
        if amount:
            self._shared.inc(amount)

    def set(self, value: float, timestamp: float | None = None) -> None:
        with self._lock:
            self._pending = 0.0
        self._shared.set(value, timestamp)

    def get(self) -> float:
        self.flush()
        return float(self._shared.get())

    def set_exemplar(self, exemplar: Any) -> None:
        self._shared.set_exemplar(exemplar)

    def get_exemplar(self) -> Any:
        return self._shared.get_exemplar()


def _value(typ: str, *args: Any, **kwargs: Any) -> Any:
    shared = _shared_class(typ, *args, **kwargs)
    if typ not in SUMMED:
        return shared
    buffered = BufferedValue(shared)
    _buffered.append(buffered)
    return buffered


def install() -> None:
    """Buffer every counter and histogram created from now on in this process (idempotent)."""
    global _shared_class
    if _shared_class is None:
        _shared_class = values.ValueClass
        values.ValueClass = _value  # read at each metric's creation: how prometheus-client picks its own


def flush() -> None:
    """Hand every buffered increment to the shared files (what /metrics of any worker reads)."""
    for value in list(_buffered):
        value.flush()


async def flush_periodically(seconds: float = FLUSH_SECONDS) -> None:
    """On the event loop, not a thread: a flush never contends with requests for the GIL."""
    while True:
        await asyncio.sleep(seconds)
        flush()
