"""Unique ids without a syscall per id: a random per-process prefix plus a counter.

uuid4() reads os.urandom on every call, which costs ~15 us in this sandbox: more than scoring.
"""

from __future__ import annotations

import itertools
import os
import threading


class IdFactory:
    """32 hex characters: 16 random per process (re-drawn after a fork) + a 64-bit counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def new(self) -> str:
        return self.many(1)[0]

    def many(self, count: int) -> list[str]:
        """`count` ids at once (a batch of predictions): one pid check, one counter step each."""
        if os.getpid() != self._pid:
            with self._lock:
                if os.getpid() != self._pid:
                    self._reset()
        prefix, counter = self._prefix, self._counter
        return [f"{prefix}{next(counter) & 0xFFFFFFFFFFFFFFFF:016x}" for _ in range(count)]


_factory = IdFactory()
new_id = _factory.new
new_ids = _factory.many
