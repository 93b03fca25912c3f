"""The audit log's cost, side by side in one run, one machine, loopback only.

Six predictors serve the same cached model at once; wrk alternates between them, single records at c=8 and
c=32; each figure is the median of the rounds, and each ratio the median of the rounds' own ratios (two
setups measured back to back share the machine's state: this VM's speed drifts by 20-40% within minutes),
with their range. CPU per request (the predictor process, all its threads, from /proc) is the cost a setup
pays whatever the neighbours do:
- SQLite, durable (the default: an answer leaves after its record is committed, group commit);
- SQLite, batched (committed every 0.2 s: a SIGKILL may lose the last fraction of a second);
- SQLite, durable and power-safe (PREDICTOR_AUDIT_POWER_SAFE: the WAL synced at every commit);
- PostgreSQL (Debian's, local), durable; and PostgreSQL, batched;
- SQLite, durable, on a log already holding N records (default 10 million), beside the empty one.
Then audit look-ups by id on the full log: p50/p99 over random ids, through HTTP.

    .venv/bin/python bench/compare_audit.py [--records 10000000] [--seconds 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cached_predictor import DEFAULT_CACHE, has_cache, start_cached_predictor  # noqa: E402
from bench.compare_serving import API_KEY, wrk  # noqa: E402
from services.predictor.audit.sqlite import INDEX, SCHEMA  # noqa: E402
from tests.postgres import Postgres  # noqa: E402
from tests.predictor.conftest import VALID_RECORD  # noqa: E402
from tests.support import stop  # noqa: E402

CONCURRENCY = (8, 32)
SQLITE_DURABLE, SQLITE_BATCHED, SQLITE_POWER_SAFE = "SQLite, durable", "SQLite, batched", "SQLite, power-safe"
PG_DURABLE, PG_BATCHED = "PostgreSQL, durable", "PostgreSQL, batched"
FILLER_INPUT = json.dumps(VALID_RECORD, separators=(",", ":"), sort_keys=True)


def fill(path: Path, records: int) -> float:
    """`records` realistic rows (a full input each, random ids, spread over a year) in SQLite itself."""
    started = time.perf_counter()
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            """
            INSERT INTO predictions
            WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT ?)
            SELECT lower(hex(randomblob(16))),
                   strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now', '-' || (x % 365) || ' days'),
                   'C-' || x, 'churn-model', '1', 'filler-run', lower(hex(randomblob(32))),
                   abs(random() % 1000) / 1000.0, 0, NULL, 0.4, NULL, NULL, ?
            FROM n
            """,
            (records, FILLER_INPUT),
        )
        connection.execute(INDEX)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_ids(path: Path, count: int) -> list[str]:
    with sqlite3.connect(path) as connection:
        highest = connection.execute("SELECT max(rowid) FROM predictions").fetchone()[0]
        rowids = random.sample(range(1, highest + 1), count)
        marks = ",".join("?" * len(rowids))
        return [
            r[0] for r in connection.execute(f"SELECT prediction_id FROM predictions WHERE rowid IN ({marks})", rowids)
        ]


def lookups(url: str, ids: list[str]) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    timings = []
    with httpx.Client(headers=headers, timeout=10) as http:
        for prediction_id in ids:
            started = time.perf_counter()
            response = http.get(f"{url}/predictions/{prediction_id}")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    timings.sort()
    return {"p50": statistics.median(timings), "p99": timings[int(len(timings) * 0.99) - 1], "n": len(timings)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="a model cache from `make up` (all predictors serve it, the registry unreachable)",
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "audit.md")
    args = parser.parse_args()
    if not has_cache(args.cache):
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-audit-bench-"))
    postgres = Postgres()
    postgres.start()
    processes = []
    try:
        full_log = work / "full.sqlite3"
        fill_seconds = fill(full_log, args.records)
        print(f"filled {args.records:,} records in {fill_seconds:.0f} s ({full_log.stat().st_size / 1e9:.1f} GB)")
        setups = {  # name: (audit URL, durable, power-safe)
            SQLITE_DURABLE: (f"sqlite:///{work / 'durable.sqlite3'}", "true", "false"),
            SQLITE_BATCHED: (f"sqlite:///{work / 'batched.sqlite3'}", "false", "false"),
            SQLITE_POWER_SAFE: (f"sqlite:///{work / 'power-safe.sqlite3'}", "true", "true"),
            PG_DURABLE: (postgres.create_database("durable"), "true", "false"),
            PG_BATCHED: (postgres.create_database("batched"), "false", "false"),
            f"SQLite, durable, {args.records:,} records": (f"sqlite:///{full_log}", "true", "false"),
        }
        urls = {}
        for index, (name, (audit_url, durable, power_safe)) in enumerate(setups.items()):
            process, urls[name] = start_cached_predictor(
                args.cache,
                work,
                str(index),
                PREDICTOR_AUDIT_URL=audit_url,
                PREDICTOR_AUDIT_DURABLE=durable,
                PREDICTOR_AUDIT_POWER_SAFE=power_safe,
                PREDICTOR_AUDIT_SPILL_DIR=str(work / f"spill-{index}"),
            )
            processes.append(process)
        body = work / "one.json"
        body.write_text(json.dumps(VALID_RECORD))
        results: dict[tuple[str, int], list[dict[str, float]]] = {
            (name, clients): [] for clients in CONCURRENCY for name in setups
        }
        pids = dict(zip(urls, (process.pid for process in processes), strict=True))
        for _ in range(args.rounds):
            for clients in CONCURRENCY:
                for name, url in urls.items():
                    before = cpu_seconds(pids[name])
                    run = wrk(f"{url}/predict", body, clients, args.seconds, {"Authorization": f"Bearer {API_KEY}"})
                    run["cpu_us"] = (cpu_seconds(pids[name]) - before) / max(run["requests"], 1) * 1e6
                    results[name, clients].append(run)
        full_name = list(setups)[-1]
        looked_up = lookups(urls[full_name], sample_ids(full_log, 2000))
        report = render(args, results, looked_up, fill_seconds, full_log.stat().st_size)
        args.output.write_text(report)
        print(report)
    finally:
        for process in processes:
            stop(process)
        postgres.remove()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def render(
    args: argparse.Namespace,
    results: dict[tuple[str, int], list[dict[str, float]]],
    looked_up: dict[str, float],
    fill_seconds: float,
    full_bytes: int,
) -> str:
    fields = ("rps", "p50", "p99", "errors", "cpu_us")
    median = {
        key: {field: statistics.median(run[field] for run in runs) for field in fields}
        for key, runs in results.items()
    }
    names = list(dict.fromkeys(name for name, _ in results))
    full = names[-1]
    lines = [
        "# Audit log benchmark",
        "",
        f"`.venv/bin/python bench/compare_audit.py --records {args.records} --seconds {args.seconds} "
        f"--rounds {args.rounds}` on {os.cpu_count()} cores; six predictors (1 worker each) serve the same "
        "cached model at once, wrk alternates between them (single records, loopback); the median of the "
        "rounds; a ratio is the median of the rounds' own ratios [their range]; CPU is the predictor's per "
        "request. PostgreSQL is Debian's, local, on the same disk and cores.",
        "",
        "| audit log | clients | req/s | p50 ms | p99 ms | CPU us/request | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for clients in CONCURRENCY:
        for name in names:
            r = median[name, clients]
            lines.append(
                f"| {name} | {clients} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_us']:.0f} "
                f"| {r['errors']:.0f} |"
            )

    def ratio(a: str, b: str, clients: int) -> str:
        paired = sorted(x["rps"] / y["rps"] for x, y in zip(results[a, clients], results[b, clients], strict=True))
        cost = median[b, clients]["cpu_us"] / median[a, clients]["cpu_us"]
        return (
            f"{statistics.median(paired):.2f}x [{paired[0]:.2f}-{paired[-1]:.2f}] "
            f"(by CPU per request {cost:.2f}x)"
        )

    lines.append("")
    for clients in CONCURRENCY:
        lines += [
            f"- c={clients}: durable vs batched, SQLite: {ratio(SQLITE_DURABLE, SQLITE_BATCHED, clients)} "
            f"(bar: >= 0.85x); PostgreSQL durable vs SQLite durable: {ratio(PG_DURABLE, SQLITE_DURABLE, clients)} "
            f"(bar: >= 0.8x); power-safe vs durable, SQLite: {ratio(SQLITE_POWER_SAFE, SQLITE_DURABLE, clients)}; "
            f"{args.records:,} records vs an empty log: {ratio(full, SQLITE_DURABLE, clients)} (bar: >= 0.9x).",
        ]
    lines += [
        f"- Look-ups by id on the {args.records:,}-record log ({full_bytes / 1e9:.1f} GB, filled in "
        f"{fill_seconds:.0f} s), {looked_up['n']:.0f} random ids through HTTP: p50 {looked_up['p50']:.2f} ms, "
        f"p99 {looked_up['p99']:.2f} ms (bar: p99 <= 5 ms).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
