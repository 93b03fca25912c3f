"""Side-by-side serving benchmark, one run, one machine, loopback only.

Serves the same registered model with `mlflow models serve` and `churnguard serve` (same worker
count), plus bare FastAPI constant-response floors (defaults; OpenTelemetry hooks off), alternates
wrk runs between them at concurrency 1, 8 and 32, times a 10,000-record batch on both model servers
(and checks they give the same probabilities), and a cold start from the cache.

    .venv/bin/python bench/compare_serving.py [--seconds 5] [--rounds 2] [--workers 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.common.customer import ID_FIELD, parse_csv_row  # noqa: E402
from services.common.paths import SHARED_DATA_FILE  # noqa: E402
from tests.support import free_port, stop, wait_for_http  # noqa: E402

# The floor: FastAPI answering a constant, as shipped and with its OpenTelemetry hooks off like ours.
FLOORS = {
    "bare FastAPI floor": "bench.bare_app:app",
    "bare floor, telemetry off": "bench.bare_app:app_without_telemetry",
}
SERVERS = ("mlflow models serve", "churnguard serve", *FLOORS)
API_KEY = secrets.token_urlsafe(16)  # a throwaway key: auth is on, as in production


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT)


def tracker_with_champion(work: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """A real tracker under `work` with the baseline trained and promoted; the environment to reach it."""
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",
    }
    command = ["tracker", "--port", str(port), "--data-dir", str(work / "mlflow")]
    tracker = spawn([sys.executable, "-m", "services.cli", *command], env, work / "tracker.log")
    try:
        wait_for_http(f"{env['MLFLOW_TRACKING_URI']}/health", 90, tracker)
        bootstrap = [sys.executable, "-m", "services.cli", "bootstrap"]
        subprocess.run(bootstrap, cwd=REPO, env={**os.environ, **env}, check=True, capture_output=True)
    except BaseException:
        stop(tracker)
        raise
    return tracker, env


def wrk(url: str, body_file: Path, concurrency: int, seconds: int, headers: dict[str, str]) -> dict[str, float]:
    script = body_file.with_suffix(".lua")
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    script.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n{header_lines}'
        f'local f = io.open("{body_file}", "r"); wrk.body = f:read("*a"); f:close()\n'
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", out, re.M)
        assert match, out
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[match[2]]
        return float(match[1]) * scale

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "p50": latency("50%"),
        "p99": latency("99%"),
        "errors": float(non_2xx[1]) if non_2xx else 0.0,
        "requests": float(re.search(r"(\d+) requests in", out)[1]),  # type: ignore[index]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "latest.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: run scripts/system-packages.sh", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="churnguard-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        tracker, env = tracker_with_champion(work)
        processes.append(tracker)

        ports = {name: free_port() for name in SERVERS}
        mlflow_server = spawn(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                "models:/churn-model@champion",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(ports["mlflow models serve"]),
                "-w",
                str(args.workers),
            ],
            env,
            work / "mlflow-serve.log",
        )
        predictor_env = {
            **env,
            "PREDICTOR_PORT": str(ports["churnguard serve"]),
            "PREDICTOR_API_KEYS": API_KEY,
            "PREDICTOR_CACHE_DIR": str(work / "cache"),
            "PREDICTOR_AUDIT_URL": f"sqlite:///{work / 'audit.sqlite3'}",
            "PREDICTOR_WORKERS": str(args.workers),
        }
        predictor = spawn([sys.executable, "-m", "services.cli", "serve"], predictor_env, work / "predictor.log")
        floors = {}
        for name, target in FLOORS.items():
            floors[name] = spawn(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    target,
                    "--port",
                    str(ports[name]),
                    "--workers",
                    str(args.workers),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env,
                work / f"{target.replace(':', '-')}.log",
            )
        processes += [mlflow_server, predictor, *floors.values()]
        wait_for_http(f"http://127.0.0.1:{ports['mlflow models serve']}/ping", 120, mlflow_server)
        wait_for_http(f"http://127.0.0.1:{ports['churnguard serve']}/health/ready", 60, predictor)
        for name, process in floors.items():
            wait_for_http(f"http://127.0.0.1:{ports[name]}/docs", 30, process)

        rows = [parse_csv_row(r) for r in csv.DictReader(SHARED_DATA_FILE.open(encoding="utf-8"))]
        one = rows[0]
        features = {k: v for k, v in one.items() if k != ID_FIELD}
        bodies = {
            "mlflow models serve": (work / "mlflow.json", {"dataframe_records": [features]}, "/invocations", {}),
            "churnguard serve": (work / "churnguard.json", one, "/predict", {"Authorization": f"Bearer {API_KEY}"}),
            **{name: (work / "bare.json", one, "/predict", {}) for name in FLOORS},
        }
        for path, payload, _, _ in bodies.values():
            path.write_text(json.dumps(payload))

        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        for round_number in range(args.rounds):
            for concurrency in (1, 8, 32):
                for name, (path, _, route, headers) in bodies.items():  # alternate servers within each round
                    url = f"http://127.0.0.1:{ports[name]}{route}"
                    results.setdefault((name, concurrency), []).append(
                        wrk(url, path, concurrency, args.seconds, headers)
                    )
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

        batch = (rows * 2)[:10_000]
        batch_times: dict[str, float] = {}
        answers: dict[str, list[float]] = {}
        for name, route, payload, headers in [
            (
                "mlflow models serve",
                "/invocations",
                {"dataframe_records": [{k: v for k, v in r.items() if k != ID_FIELD} for r in batch]},
                {},
            ),
            ("churnguard serve", "/predict/batch", {"customers": batch}, {"Authorization": f"Bearer {API_KEY}"}),
        ]:
            body = json.dumps(payload).encode()
            times = []
            for _ in range(5):
                started = time.perf_counter()
                response = httpx.post(
                    f"http://127.0.0.1:{ports[name]}{route}",
                    content=body,
                    headers={"content-type": "application/json", **headers},
                    timeout=120,
                )
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:300]
            batch_times[name] = statistics.median(times)
            answers[name] = churn_probabilities(response.json())
        difference = max(
            abs(a - b) for a, b in zip(answers["mlflow models serve"], answers["churnguard serve"], strict=True)
        )

        # Cold start from the cached model with the tracker gone.
        stop(tracker)
        stop(predictor)
        started = time.perf_counter()
        restarted = spawn(
            [sys.executable, "-m", "services.cli", "serve"], predictor_env, work / "predictor-restart.log"
        )
        processes.append(restarted)
        wait_for_http(f"http://127.0.0.1:{ports['churnguard serve']}/health/ready", 60, restarted)
        cold_start = time.perf_counter() - started

        report = render(results, batch_times, difference, cold_start, args)
        print(report)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def churn_probabilities(answer: dict[str, Any]) -> list[float]:
    """P(churn) per record from either server's batch answer (mlflow serves predict_proba pairs)."""
    if "model" in answer:
        return [float(item["churn_probability"]) for item in answer["predictions"]]
    return [float(pair[1]) for pair in answer["predictions"]]


def render(
    results: dict[tuple[str, int], list[dict[str, float]]],
    batch_times: dict[str, float],
    difference: float,
    cold_start: float,
    args: argparse.Namespace,
) -> str:
    def best(name: str, c: int, key: str) -> float:
        values = [r[key] for r in results[(name, c)]]
        return max(values) if key == "rps" else statistics.median(values)

    lines = [
        f"# Serving benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`.venv/bin/python bench/compare_serving.py --seconds {args.seconds} --rounds {args.rounds}"
        f" --workers {args.workers}` on {os.cpu_count()} cores, wrk on loopback, single-record requests,"
        f" {args.workers} worker(s) each; churnguard with validation, audit log, metrics and API-key auth on."
        " Best of the rounds for req/s, median for latency.",
        "",
        "| server | c | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for c in (1, 8, 32):
        for name in SERVERS:
            errors = int(sum(r["errors"] for r in results[(name, c)]))
            lines.append(
                f"| {name} | {c} | {best(name, c, 'rps'):,.0f} | {best(name, c, 'p50'):.2f}"
                f" | {best(name, c, 'p99'):.2f} | {errors} |"
            )
    lines += ["", "| ratio | c=1 | c=8 | c=32 |", "|---|---|---|---|"]
    for label, other in (("churnguard / mlflow", "mlflow models serve"), *((f"churnguard / {f}", f) for f in FLOORS)):
        ratios = [best("churnguard serve", c, "rps") / best(other, c, "rps") for c in (1, 8, 32)]
        lines.append(f"| {label} | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    lines += [
        "",
        "| 10,000-record batch (median of 5) | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.3f} |" for name, seconds in batch_times.items()],
        "",
        "Same answers: the largest difference between the two servers' 10,000 churn probabilities"
        f" is {difference:.1e}.",
        "",
        "The churnguard app turns FastAPI's OpenTelemetry hooks off (it exports Prometheus metrics);"
        " the first floor is `FastAPI()` with its defaults, the second turns them off too.",
        "",
        f"Cold start of churnguard serve from its cached model, tracker down, to /health/ready 200: {cold_start:.2f} s",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
