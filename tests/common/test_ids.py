"""Prediction and request ids: unique in a process, and across a fork (uvicorn workers, the prepare child)."""

from __future__ import annotations

import os
import re

from services.common.ids import IdFactory, new_id, new_ids

ID = re.compile(r"^[0-9a-f]{32}$")


def test_ids_are_32_hex_characters_and_never_repeat() -> None:
    ids = [new_id() for _ in range(50_000)] + new_ids(50_000)
    assert all(ID.match(value) for value in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_draws_its_own_prefix() -> None:
    """Without the fork hook the child would continue the parent's counter under the parent's prefix:
    the same ids, handed out twice."""
    factory = IdFactory()
    before = factory.new()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits at once
        os.write(writer, ",".join([factory.new(), *factory.many(3)]).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        from_child = pipe.read().split(",")
    os.waitpid(child, 0)
    from_parent = [factory.new(), *factory.many(3)]
    assert len(from_child) == 4
    assert {value[:16] for value in from_child} != {before[:16]}
    assert not set(from_child) & set(from_parent)
