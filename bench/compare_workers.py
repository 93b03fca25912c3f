"""One worker against two, side by side in one run: throughput, memory per worker, cold start.

A real tracker with the baseline promoted; churnguard serving it with 1 and 2 workers (registry polling
on, auth, audit log, metrics), beside the bare FastAPI floor with 1 and 2 workers. wrk alternates
between them at concurrency 1, 8 and 32. A fifth server is the 2-worker floor on churnguard's own HTTP
protocol (one write per answer, `services/predictor/http/protocol.py`): how much of the gap that
protocol closes by itself; the target is against the floor as FastAPI ships. Each churnguard is first
started from the registry, then restarted from its cache (the cold start, spawn to ready, is timed):
what every later start runs. Then each takes 60 s of load and the resident memory of every worker is
read from /proc.
The targets of issue 15 are checked and printed beside the figures.

    .venv/bin/python bench/compare_workers.py [--seconds 5] [--rounds 4] [--soak 60]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.compare_serving import API_KEY, spawn, tracker_with_champion, wrk  # noqa: E402
from services.common.customer import parse_csv_row  # noqa: E402
from services.common.paths import SHARED_DATA_FILE  # noqa: E402
from tests.support import free_port, serving_workers, stop, wait_for_http  # noqa: E402

CONCURRENCY = (1, 8, 32)
PROTOCOL = "services.predictor.http.protocol:HeadWithBodyProtocol"
FLOOR_SAME_PROTOCOL = "bare floor, 2 workers, churnguard's HTTP protocol"
MEMORY_TARGET_MB = 250
COLD_START_TARGET_S = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    # The floor's workers share one socket, and how its connections land moves it by up to 40% from run to
    # run; four rounds give it (and churnguard) a fair chance at their best.
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--soak", type=int, default=60, help="seconds of load before memory is read")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "workers.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="churnguard-workers-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        tracker, env = tracker_with_champion(work)
        processes.append(tracker)

        servers: dict[str, tuple[subprocess.Popen[bytes], str, dict[str, str]]] = {}
        for workers in (1, 2):
            name = f"churnguard, {workers} worker{'s' * (workers > 1)}"
            port = free_port()
            settings = {
                **env,
                "PREDICTOR_PORT": str(port),
                "PREDICTOR_API_KEYS": API_KEY,
                "PREDICTOR_WORKERS": str(workers),
                "PREDICTOR_CACHE_DIR": str(work / f"cache-{workers}"),
                "PREDICTOR_AUDIT_URL": f"sqlite:///{work / f'audit-{workers}.sqlite3'}",
            }
            process = spawn([sys.executable, "-m", "services.cli", "serve"], settings, work / f"{workers}.log")
            servers[name] = (process, f"http://127.0.0.1:{port}", settings)
            servers[f"bare floor, {workers} worker{'s' * (workers > 1)}"] = spawn_floor(workers, env, work)
        servers[FLOOR_SAME_PROTOCOL] = spawn_floor(2, env, work, ["--http", PROTOCOL])
        processes += [process for process, _, _ in servers.values()]
        for name, (process, url, _) in servers.items():
            wait_for_http(f"{url}/health/ready" if name.startswith("churnguard") else f"{url}/docs", 90, process)
        # The first start fetched the model from the registry; measure what every restart runs: the cache.
        cold: dict[str, float] = {}
        for name, (process, url, settings) in list(servers.items()):
            if name.startswith("churnguard"):
                stop(process)
                started = time.perf_counter()
                restarted = spawn([sys.executable, "-m", "services.cli", "serve"], settings, work / "restart.log")
                processes.append(restarted)
                wait_for_http(f"{url}/health/ready", 60, restarted)
                cold[name] = time.perf_counter() - started
                servers[name] = (restarted, url, settings)

        record = parse_csv_row(next(csv.DictReader(SHARED_DATA_FILE.open(encoding="utf-8"))))
        body = work / "one.json"
        body.write_text(json.dumps(record))
        headers = {"Authorization": f"Bearer {API_KEY}"}
        results: dict[tuple[str, int], list[float]] = {}
        for round_number in range(args.rounds):
            for concurrency in CONCURRENCY:
                for name, (_, url, _) in servers.items():
                    measured = wrk(f"{url}/predict", body, concurrency, args.seconds, headers)
                    assert measured["errors"] == 0, f"{name}: {measured['errors']} non-2xx answers"
                    results.setdefault((name, concurrency), []).append(measured["rps"])
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

        memory: dict[str, list[float]] = {}
        for name, (process, url, _) in servers.items():
            if name.startswith("churnguard"):
                wrk(f"{url}/predict", body, 8, args.soak, headers)
                memory[name] = [rss_mb(pid) for pid in serving_workers(process.pid) or [process.pid]]

        report = render(results, memory, cold, args)
        print(report)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def spawn_floor(
    workers: int, env: dict[str, str], work: Path, extra: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """The bare FastAPI floor under uvicorn's CLI (its defaults, plus `extra`), and its URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:app_without_telemetry", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning", *(extra or [])]
    return spawn(command, env, work / f"floor-{port}.log"), f"http://127.0.0.1:{port}", {}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def render(
    results: dict[tuple[str, int], list[float]],
    memory: dict[str, list[float]],
    cold: dict[str, float],
    args: argparse.Namespace,
) -> str:
    best = {key: max(values) for key, values in results.items()}
    names = list(dict.fromkeys(name for name, _ in results))
    lines = [
        f"# One worker against two ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`.venv/bin/python bench/compare_workers.py --seconds {args.seconds} --rounds {args.rounds}"
        f" --soak {args.soak}` on {os.cpu_count()} cores; wrk (1 thread) on loopback, single-record requests,"
        " best of the rounds. churnguard with auth, audit log (SQLite), metrics and registry polling on.",
        "The floor answers a constant from FastAPI; the last row is that floor on churnguard's HTTP protocol.",
        "",
        "| server | " + " | ".join(f"c={c} req/s" for c in CONCURRENCY) + " |",
        "|---|" + "---|" * len(CONCURRENCY),
        *[f"| {n} | " + " | ".join(f"{best[(n, c)]:,.0f}" for c in CONCURRENCY) + " |" for n in names],
        "",
        "| target (issue 15) | measured | met |",
        "|---|---|---|",
    ]
    two, one, floor_two = "churnguard, 2 workers", "churnguard, 1 worker", "bare floor, 2 workers"
    ratio = best[(two, 8)] / best[(floor_two, 8)]
    lines.append(f"| 2 workers >= 0.8x the 2-worker floor at c=8 | {ratio:.2f}x | {_met(ratio >= 0.8)} |")
    same = best[(two, 8)] / best[(FLOOR_SAME_PROTOCOL, 8)]
    lines.append(f"| (not a target) 2 workers against that floor on churnguard's protocol, c=8 | {same:.2f}x | |")
    for c in CONCURRENCY:
        gain = best[(two, c)] / best[(one, c)]
        lines.append(f"| 2 workers >= 1 worker at c={c} | {gain:.2f}x | {_met(gain >= 1.0)} |")
    for name, sizes in memory.items():
        worst = max(sizes)
        shown = ", ".join(f"{size:.0f}" for size in sizes)
        lines.append(
            f"| {name}: <= {MEMORY_TARGET_MB} MB per worker after {args.soak} s of load (RSS)"
            f" | {shown} MB | {_met(worst <= MEMORY_TARGET_MB)} |"
        )
    for name, seconds in cold.items():
        lines.append(
            f"| {name}: cold start from the cache <= {COLD_START_TARGET_S:g} s | {seconds:.2f} s"
            f" | {_met(seconds <= COLD_START_TARGET_S)} |"
        )
    lines += ["", "Every round at c=8 (req/s), in the order run:", ""]
    lines += [f"- {name}: " + ", ".join(f"{value:,.0f}" for value in results[(name, 8)]) for name in names]
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    sys.exit(main())
