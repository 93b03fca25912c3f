"""The audit log itself: a request's batch waits (and can be looked up) until the file takes it."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import orjson

from services.predictor.audit import AuditBatch, AuditLog
from services.predictor.validation import parse_record
from tests.predictor.conftest import record


def test_a_batch_waits_while_the_file_is_unusable_is_found_meanwhile_and_written_after(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    path.mkdir()  # not openable as a database
    log = AuditLog(path, flush_seconds=60)  # no writer thread: flushes happen when this test says
    sent = [record(customerID=f"C{i}") for i in range(3)]
    rows = [parse_record(orjson.dumps(body)) for body in sent]
    log.submit(
        AuditBatch(time.time(), "churn-model", "7", "run-1", "key-1", 0.5, ["a", "b", "c"], [0.2, 0.5, 0.9], rows)
    )

    log.flush()
    assert not log.healthy and log.pending == 3
    found = log.get("b")
    assert found is not None
    assert (found["customer_id"], found["model_version"], found["churn"]) == ("C1", "7", True)  # 0.5 >= 0.5
    assert found["input_sha256"] == hashlib.sha256(orjson.dumps(sent[1], option=orjson.OPT_SORT_KEYS)).hexdigest()

    path.rmdir()
    log.flush()
    assert log.healthy and log.pending == 0
    with sqlite3.connect(path) as connection:
        stored = connection.execute("SELECT prediction_id, customer_id, churn FROM predictions ORDER BY 1").fetchall()
    assert stored == [("a", "C0", 0), ("b", "C1", 1), ("c", "C2", 1)]
