"""The audit log itself, on real SQLite and real PostgreSQL: full records, pending look-ups, the bound,
group commit futures, retention, migration of a log made before inputs were kept."""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from services.predictor.audit import sqlite as sqlite_backend
from services.predictor.audit import writer
from services.predictor.audit.backend import AuditStoreError, default_spill_dir, open_backend, redact
from services.predictor.audit.record import NOT_REPLAYABLE, AuditRecord
from services.predictor.audit.spill import Spill, SpillFull
from services.predictor.audit.writer import AuditBacklog, AuditBatch, AuditLog, AuditUnavailable, utc_text
from services.predictor.http.validation import parse_record
from tests.predictor.conftest import record


def batch(ids: list[str], at: float | None = None, committed: asyncio.Future[None] | None = None) -> AuditBatch:
    sent = [record(customerID=f"C-{i}") for i in ids]
    rows = [parse_record(orjson.dumps(body)) for body in sent]
    probabilities = [0.2 + 0.3 * n for n in range(len(ids))]
    return AuditBatch(
        at or time.time(),
        "churn-model",
        "7",
        "run-1",
        "key-1",
        0.5,
        ids,
        probabilities,
        rows,
        {1: ["tenure"]} if len(ids) > 1 else {},
        "req-1",
        committed,
    )


def spill_of(url: str, max_bytes: int = 1 << 20) -> Spill:
    """The database's own spill: beside a SQLite file; a fresh directory for a PostgreSQL database."""
    spill = Spill(default_spill_dir(url, Path(tempfile.mkdtemp(prefix="churnguard-spill-"))), max_bytes, sync=False)
    spill.open()
    return spill


def audit_log(url: str, **overrides: object) -> AuditLog:
    options: dict[str, object] = {"flush_seconds": 60, "durable": False, "max_pending": 1000, "retention_days": 400}
    options.update(overrides)
    log = AuditLog(open_backend(url), spill=spill_of(url), **options)  # type: ignore[arg-type]
    log.backend.prepare()  # no writer thread: flushes happen when the test says
    return log


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_record_keeps_the_validated_input_and_is_found_before_and_after_its_commit(url: str) -> None:
    log = audit_log(url)
    log.submit(batch(["a", "b", "c"]))
    pending = log.get("b")  # on the replica that made it, before any commit
    log.flush()
    assert log.pending == 0
    committed = log.get("b")
    assert pending == committed
    assert committed is not None
    expected_input = orjson.loads(orjson.dumps(record(customerID="C-b")))
    assert committed["input"] == expected_input and committed["replayable"] is True
    canonical = orjson.dumps(expected_input, option=orjson.OPT_SORT_KEYS)
    assert committed["input_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert committed["model"] == {"name": "churn-model", "version": "7", "run_id": "run-1"}
    assert (committed["churn_probability"], committed["threshold"], committed["churn"]) == (0.5, 0.5, True)
    assert committed["warnings"] == ["tenure"] and committed["request_id"] == "req-1"
    assert log.get("a")["warnings"] == []  # type: ignore[index]
    assert log.get("nope") is None


def test_a_record_being_committed_is_found_meanwhile(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between leaving the queue and its commit a record is in flight: a lookup then must not say 404."""
    log = audit_log(url)
    inserting, release = threading.Event(), threading.Event()
    insert = log.backend.insert

    def slow_insert(records: Sequence[AuditRecord], wait: bool = True) -> None:
        inserting.set()
        release.wait(10)
        insert(records, wait)

    monkeypatch.setattr(log.backend, "insert", slow_insert)
    log.submit(batch(["in-flight"]))
    flusher = threading.Thread(target=log.flush)
    flusher.start()
    try:
        assert inserting.wait(10)
        assert log.get("in-flight") is not None
    finally:
        release.set()
        flusher.join(10)
    assert log.pending == 0 and log.get("in-flight") is not None


def test_past_the_bound_a_batch_is_refused_and_nothing_of_it_queued(url: str) -> None:
    log = audit_log(url, max_pending=4)
    log.submit(batch(["a", "b", "c"]))
    with pytest.raises(AuditBacklog, match="the bound is 4"):
        log.submit(batch(["d", "e"]))
    assert log.pending == 3 and log.get("d") is None
    log.flush()
    log.submit(batch(["d", "e"]))
    assert log.pending == 2


def test_group_commit_resolves_each_waiting_request_once_committed(url: str) -> None:
    log = audit_log(url, durable=True)

    async def two_requests() -> list[bool]:
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[None]] = [loop.create_future(), loop.create_future()]
        log.submit(batch(["a"], committed=waiting[0]))
        log.submit(batch(["b"], committed=waiting[1]))
        assert not any(f.done() for f in waiting)
        await asyncio.to_thread(log.flush)  # the writer thread: one transaction for both
        await asyncio.wait_for(asyncio.gather(*waiting), 5)
        return [f.done() for f in waiting]

    assert asyncio.run(two_requests()) == [True, True]


def test_retention_removes_only_records_older_than_the_period(url: str) -> None:
    log = audit_log(url, retention_days=30)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    log.submit(batch(["old-1", "old-2"], at=(now - timedelta(days=31)).timestamp()))
    log.submit(batch(["recent"], at=(now - timedelta(days=29)).timestamp()))
    log.flush()
    assert log.purge_expired(now) == 2
    assert log.get("old-1") is None and log.get("recent") is not None
    assert log.purge_expired(now) == 0


def test_a_lookup_the_database_cannot_answer_is_unavailable_not_unknown(tmp_path: Path) -> None:
    url = "postgresql://nobody:x@127.0.0.1:9/none"
    log = AuditLog(open_backend(url), 60, True, 10, 400, spill_of(url))
    with pytest.raises(AuditUnavailable, match="audit log unreadable"):
        log.get("some-id")
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"


def test_a_batch_waits_while_the_file_is_unusable_is_found_meanwhile_and_written_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no room in the spill either, batched records wait in memory (their answers have left)."""
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0)
    path = tmp_path / "audit.sqlite3"
    path.mkdir()  # not openable as a database
    log = AuditLog(open_backend(f"sqlite:///{path}"), 60, False, 1000, 400, spill_of(f"sqlite:///{path}", 1))
    assert log.oldest_pending_seconds() == 0.0
    log.submit(batch(["a", "b", "c"], at=time.time() - 30))
    log.submit(batch(["d"]))
    log.flush()
    assert not log.healthy and log.pending == 4
    assert 30 <= log.oldest_pending_seconds() < 40  # the oldest waiting record, not the newest
    found = log.get("b")
    assert found is not None and (found["customer_id"], found["model_version"]) == ("C-b", "7")
    path.rmdir()
    log.flush()
    assert log.healthy and log.pending == 0 and log.oldest_pending_seconds() == 0.0
    with sqlite3.connect(path) as connection:
        stored = connection.execute("SELECT prediction_id, customer_id, churn FROM predictions ORDER BY 1").fetchall()
    assert stored == [("a", "C-a", 0), ("b", "C-b", 1), ("c", "C-c", 1), ("d", "C-d", 0)]


def test_sqlite_writes_many_records_a_statement_within_the_librarys_bound_and_once_each(tmp_path: Path) -> None:
    log = audit_log(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    writer = log.backend._current_writer(True)  # type: ignore[attr-defined]
    writer.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3 * len(AuditRecord._fields))  # an old SQLite: 3 rows
    ids = [f"id-{n:02d}" for n in range(10)]
    log.submit(batch(ids[:4]))
    assert log.flush(), log.last_error
    log.submit(batch(ids))  # a retried flush resends committed records: each is still stored once
    assert log.flush(), log.last_error
    with sqlite3.connect(tmp_path / "audit.sqlite3") as connection:
        stored = [row[0] for row in connection.execute("SELECT prediction_id FROM predictions ORDER BY 1")]
    assert stored == ids


FIRST_RELEASE_SCHEMA = """
CREATE TABLE predictions (
    prediction_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, customer_id TEXT NOT NULL,
    model_name TEXT NOT NULL, model_version TEXT NOT NULL, run_id TEXT NOT NULL,
    input_sha256 TEXT NOT NULL, churn_probability REAL NOT NULL, churn INTEGER NOT NULL, api_key_id TEXT
);
INSERT INTO predictions VALUES ('old', '2026-11-01T00:00:00.000000+00:00', 'C-old', 'churn-model', '3', 'run-0',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0.7, 1, NULL);
"""


def test_a_log_from_before_inputs_were_kept_is_migrated_and_says_it_cannot_replay(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIRST_RELEASE_SCHEMA)
    log = audit_log(f"sqlite:///{path}")
    old = log.get("old")
    assert old is not None and old["replayable"] is False and old["replay_note"] == NOT_REPLAYABLE
    assert old["input"] is None and old["model"]["version"] == "3" and old["churn"] is True
    log.submit(batch(["new"]))
    log.flush()
    assert log.get("new")["replayable"] is True  # type: ignore[index]


def test_record_times_read_as_datetime_writes_them() -> None:
    """Audit times are formatted once a second and completed by hand: the text must be exactly what
    `datetime.isoformat` gives (retention compares it as text), rounding included."""
    generator = random.Random(15)
    stamps = [0.0, 0.9999995, 1.0000005, 1_795_927_166.9999996, 1e9 + 0.5e-6, time.time()]
    stamps += [generator.uniform(0, 4e9) for _ in range(20_000)]
    stamps += [time.time() + generator.random() for _ in range(20_000)]
    for stamp in stamps:
        assert utc_text(stamp) == datetime.fromtimestamp(stamp, UTC).isoformat(timespec="microseconds"), stamp


def test_while_the_database_fails_records_spill_are_found_and_reach_it_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "RETRY_SECONDS", 0)
    path = tmp_path / "audit.sqlite3"
    log = audit_log(f"sqlite:///{path}")
    path.unlink()
    path.mkdir()  # the database is lost
    log.submit(batch(["a", "b"], at=time.time() - 30))
    assert not log.flush()
    log.submit(batch(["c"]))
    log.flush()
    assert log.spill.records == 3 and log.pending == 3 and 30 <= log.oldest_pending_seconds() < 40
    found = log.get("b")
    assert found is not None and found["customer_id"] == "C-b", "a spilled id is found, never a 404"
    path.rmdir()
    log.submit(batch(["d"]))
    assert log.flush() and log.healthy
    assert log.spill.records == 0 and log.pending == 0 and log.oldest_pending_seconds() == 0.0
    assert not list(log.spill.directory.glob("*.spill"))
    with sqlite3.connect(path) as connection:
        stored = [row[0] for row in connection.execute("SELECT prediction_id FROM predictions ORDER BY rowid")]
    assert stored == ["a", "b", "c", "d"], "in the order answered, each once"


def test_durable_requests_are_refused_when_neither_the_database_nor_the_spill_takes_them(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    log = audit_log(f"sqlite:///{path}", durable=True)
    log.spill.max_bytes = 100  # room for no record
    path.unlink()
    path.mkdir()

    async def one_request() -> BaseException | None:
        waiting = asyncio.get_running_loop().create_future()
        log.submit(batch(["refused"], committed=waiting))
        await asyncio.to_thread(log.flush)
        try:
            await asyncio.wait_for(waiting, 5)
        except AuditStoreError as error:
            return error
        return None

    refused = asyncio.run(one_request())
    assert isinstance(refused, SpillFull) and "PREDICTOR_AUDIT_SPILL_MAX_BYTES=100" in str(refused)
    assert log.pending == 0 and log.spill.find("refused") is None, "never answered: nothing kept"
    assert not log.accepting


def test_a_spill_file_still_written_by_a_live_process_is_left_to_it_and_a_torn_line_is_ignored(
    tmp_path: Path,
) -> None:
    """Two processes share a spill: a drain skips the file another holds; a file left by a killed one
    (its lock gone with it) is drained, its half-written last line (never answered) ignored."""
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    backend = open_backend(url)
    backend.prepare()
    live, draining = Spill(tmp_path / "spill", 1 << 20, sync=True), Spill(tmp_path / "spill", 1 << 20, sync=False)
    live.open()
    draining.open()
    live.append(list(batch(["held-1", "held-2"]).records()))
    assert draining.drain(backend.insert) == 0 and backend.fetch("held-1") is None
    assert draining.find("held-2") is not None
    live.close()  # as a kill would: the lock goes with the process
    spilled = next((tmp_path / "spill").glob("*.spill"))
    spilled.write_bytes(spilled.read_bytes() + b'["torn-by-a-kill", "2026-')
    assert draining.drain(backend.insert) == 2
    assert backend.fetch("held-1") is not None and backend.known(["held-1", "held-2", "torn-by-a-kill"]) == {
        "held-1",
        "held-2",
    }
    assert not list((tmp_path / "spill").glob("*.spill"))


def test_the_spill_belongs_to_the_database_not_to_the_process() -> None:
    var = Path("/srv/var")
    assert default_spill_dir("sqlite:////data/audit.sqlite3", var) == Path("/data/audit.sqlite3.spill")
    assert default_spill_dir("postgresql://u:secret@db.internal:5433/audit", var) == Path(
        "/srv/var/predictor/audit-spill/db.internal-5433-audit"
    )
    assert default_spill_dir("postgresql://u:x@other:5432/audit", var) != default_spill_dir(
        "postgresql://u:x@db.internal:5432/audit", var
    ), "two predictors on different databases never mix"


def test_a_commit_on_the_event_loop_never_waits_for_another_process_lock(tmp_path: Path) -> None:
    """Two workers share a SQLite log: while one holds the write lock, the other's loop hands its records to
    its writer thread (which may wait) instead of sleeping in SQLite's busy handler."""
    path = tmp_path / "audit.sqlite3"
    log = audit_log(f"sqlite:///{path}", durable=True)
    other_worker = sqlite3.connect(path, isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")  # the other worker is committing
    log.submit(batch(["waits"]))
    started = time.perf_counter()
    assert log.flush(wait=False)
    assert time.perf_counter() - started < 0.05, "the loop did not wait for the lock"
    assert log.pending == 1 and log.healthy and log.get("waits") is not None
    other_worker.execute("COMMIT")
    assert log.flush() and log.pending == 0
    assert log.backend.known(["waits"]) == {"waits"}


def test_commits_leave_the_wal_to_the_writer_threads_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint syncs the file: no commit (on the event loop) runs one; the writer thread's does, at most
    every CHECKPOINT_SECONDS and only after a commit (the WAL's size never shrinks: it cannot say when)."""
    path = tmp_path / "audit.sqlite3"
    log = audit_log(f"sqlite:///{path}", durable=True)
    for n in range(300):
        log.submit(batch([f"r{n}-{i}" for i in range(5)]))
        log.flush(wait=False)
    wal = path.with_name(path.name + "-wal")
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT count(*) FROM predictions").fetchone() == (1500,)
    before = path.stat().st_size
    assert wal.stat().st_size > before, "1,500 records wait in the WAL: no commit checkpointed"
    log.backend.checkpoint()
    assert path.stat().st_size > before + 500_000, "the writer thread's checkpoint folded the WAL into the file"
    opened: list[int] = []
    real_open = log.backend._open
    monkeypatch.setattr(log.backend, "_open", lambda **kw: opened.append(1) or real_open(**kw))
    for n in range(20):  # the writer thread's rhythm: a commit, then its checkpoint
        log.submit(batch([f"after-{n}"]))
        log.flush(wait=False)
        log.backend.checkpoint()
    assert opened == [], "the checkpoint's connection is kept (opening one each time cost more than the checkpoint)"
    time.sleep(sqlite_backend.CHECKPOINT_SECONDS)
    log.backend.checkpoint()
    with sqlite3.connect(path) as reader:
        busy, frames, copied = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames == copied, "every committed frame was copied by the writer thread's checkpoint"


def test_shadow_scores_pair_with_their_answers_and_outcomes_in_id_order(url: str) -> None:
    """What GET /model/shadow reads, on both databases: only answered records pair, a retried score is kept
    once, drops add up across writers, outcomes join where known."""
    log = audit_log(url)
    log.submit(batch(["s-2", "s-1", "s-3"]))
    log.flush()
    backend = log.backend
    at = utc_text(time.time())
    backend.record_shadow([("s-1", "9", 0.11, at), ("s-2", "9", 0.22, at), ("never-answered", "9", 0.5, at)], [])
    backend.record_shadow([("s-1", "9", 0.99, at), ("s-3", "8", 0.33, at)], [("9", 4, at), ("9", 3, at)])
    backend.record_outcomes([("s-2", True, None, at)])
    assert backend.shadow_pairs("9") == [(0.5, 0.11, None), (0.2, 0.22, True)]  # s-1 then s-2; champion first
    assert backend.shadow_dropped("9") == 7 and backend.shadow_dropped("8") == 0
    assert backend.shadow_pairs("nobody") == []


def test_a_durable_answer_waits_at_most_the_commit_timeout_and_a_commit_on_the_loop_needs_no_timer(url: str) -> None:
    """The writer thread is not running here: a large request handed to it is never committed, and it is told
    so after commit_timeout (one timer). A small one is committed by its own event loop (SQLite: a file
    append; PostgreSQL: an awaited round trip): no timer of its own."""
    log = audit_log(url, durable=True, commit_timeout=0.3)

    async def answer(ids: list[str]) -> tuple[str, float, int]:
        loop = asyncio.get_running_loop()
        committed = loop.create_future()
        started = time.monotonic()
        log.submit(batch(ids, committed=committed))
        timers = len(loop._scheduled)  # type: ignore[attr-defined]
        try:
            async with asyncio.timeout(5):  # the test's own bound: a missing timer fails, never hangs
                await committed
        except TimeoutError:
            return "timed out", time.monotonic() - started, timers
        return "committed", time.monotonic() - started, timers

    outcome, waited, timers = asyncio.run(answer(["t-1"]))
    assert (outcome, timers) == ("committed", 0) and waited < 0.25
    assert log.backend.fetch("t-1") is not None
    large = [f"large-{n}" for n in range(writer.LOOP_COMMIT_MAX_RECORDS + 1)]
    outcome, waited, timers = asyncio.run(answer(large))
    assert outcome == "timed out" and 0.25 <= waited < 2 and timers == 1
    assert log.backend.fetch(large[0]) is None and log.pending == len(large), "still the writer thread's to write"


def test_postgres_commits_small_durable_requests_on_the_event_loop_one_group_per_round_trip(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No writer thread runs: requests submitted together are one round trip; what arrives meanwhile is the
    next group; every request is answered once its record is in PostgreSQL."""
    log = audit_log(postgres_url, durable=True)
    groups: list[int] = []
    real_insert = log.backend.insert_async  # type: ignore[attr-defined]

    async def counted(records: list[AuditRecord]) -> None:
        groups.append(len(records))
        await real_insert(records)

    monkeypatch.setattr(log, "_async_insert", counted)

    async def requests() -> None:
        loop = asyncio.get_running_loop()
        first = [loop.create_future() for _ in range(3)]
        for n, future in enumerate(first):
            log.submit(batch([f"g1-{n}"], committed=future))
        await asyncio.sleep(0)  # the commit task starts: its round trip is in flight
        second = [loop.create_future() for _ in range(2)]
        for n, future in enumerate(second):
            log.submit(batch([f"g2-{n}"], committed=future))
        async with asyncio.timeout(5):
            await asyncio.gather(*first, *second)

    asyncio.run(requests())
    assert groups == [3, 2]
    assert log.backend.known(["g1-0", "g1-1", "g1-2", "g2-0", "g2-1"]) == {"g1-0", "g1-1", "g1-2", "g2-0", "g2-1"}
    assert log.pending == 0 and log.healthy


@pytest.mark.parametrize("failure", ["error", "timeout"])
def test_a_failed_or_slow_commit_on_the_loop_is_handed_to_the_writer_thread(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    """The loop's round trip fails: the log says so, and the writer thread (which retries, else spills) writes
    the record and answers. Past commit_timeout the request is refused (503) but its record is still written."""
    log = audit_log(postgres_url, durable=True, commit_timeout=0.3)

    async def failing(records: list[AuditRecord]) -> None:
        if failure == "timeout":
            await asyncio.sleep(5)
        raise AuditStoreError("audit write failed: connection refused")

    monkeypatch.setattr(log, "_async_insert", failing)

    async def request() -> str:
        committed = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        log.submit(batch(["handed-over"], committed=committed))
        while not log.last_error:  # the loop's attempt is over
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 2 and log.pending == 1 and log.get("handed-over") is not None
        await asyncio.to_thread(log.flush)  # the writer thread
        try:
            async with asyncio.timeout(5):
                await committed
        except TimeoutError:
            return "refused"
        return "answered"

    assert asyncio.run(request()) == ("refused" if failure == "timeout" else "answered")
    if failure == "timeout":
        errors = [str(getattr(entry, "error", "")) for entry in caplog.records]
        assert "audit commit took over 0.3 s" in errors, "the timeout named is the one used"
    assert log.backend.known(["handed-over"]) == {"handed-over"} and log.pending == 0 and log.healthy


def test_postgres_records_read_back_the_same_from_the_loops_commit_and_the_writer_threads(postgres_url: str) -> None:
    """The loop sends its group as one JSON parameter, the writer thread as typed parameters (or COPY): every
    column reads back identical, awkward floats and the input's quotes included."""
    same = batch(["x-0", "x-1", "x-2"])._replace(probabilities=[0.1 + 0.2, 1 / 3, 0.8], threshold=1 / 7)
    loop_log = audit_log(postgres_url, durable=True)

    async def via_the_loop() -> None:
        committed = asyncio.get_running_loop().create_future()
        loop_log.submit(same._replace(prediction_ids=["loop-0", "loop-1", "loop-2"], committed=committed))
        async with asyncio.timeout(5):
            await committed

    asyncio.run(via_the_loop())
    thread_log = audit_log(postgres_url)
    thread_log.submit(same._replace(prediction_ids=["thread-0", "thread-1", "thread-2"]))
    assert thread_log.flush()
    for n in range(3):
        by_loop, by_thread = loop_log.backend.fetch(f"loop-{n}"), thread_log.backend.fetch(f"thread-{n}")
        assert by_loop is not None and by_thread is not None
        assert {**by_loop, "prediction_id": None} == {**by_thread, "prediction_id": None}
    assert loop_log.backend.fetch("loop-0")["churn_probability"] == 0.1 + 0.2  # type: ignore[index]
