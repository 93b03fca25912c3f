"""Unique ids without a syscall per id: a random per-process prefix plus a counter.

uuid4() reads os.urandom on every call, which costs ~15 us in this sandbox: more than scoring. A forked
child draws a prefix of its own (os.register_at_fork), so parent and child never hand out the same id;
no per-call getpid() check is needed (it cost a third of the ~1 us an id took).
"""

from __future__ import annotations

import itertools
import os

COUNTER_MASK = 0xFFFFFFFFFFFFFFFF


class IdFactory:
    """32 hex characters: 16 random per process (re-drawn in a forked child) + a 64-bit counter."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter) & COUNTER_MASK:016x}"

    def many(self, count: int) -> list[str]:
        """`count` ids at once (a batch of predictions)."""
        prefix, counter = self._prefix, self._counter
        return [f"{prefix}{next(counter) & COUNTER_MASK:016x}" for _ in range(count)]


_factory = IdFactory()
new_id = _factory.new
new_ids = _factory.many
