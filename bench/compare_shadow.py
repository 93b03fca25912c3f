"""The shadow lane's cost to the champion, side by side in one run: one predictor, the challenger alias set
and removed between alternating rounds (the same process, so nothing but the lane differs).

A real tracker under a temporary folder: the baseline (champion) and a C=0.05 variant (challenger), both
linear. Per round and concurrency, wrk sends single records; each figure is the median of the rounds:
- throughput at c=8 with a challenger against without (the bar: at least 0.85x);
- p99 at c=1 with against without (the bar: at most 1 ms more);
- the share of the with-challenger rounds' answers the challenger scored and stored (the bar: 90%);
- the worker's resident memory with both models loaded (the bar: 250 MB).

    .venv/bin/python bench/compare_shadow.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.compare_serving import API_KEY, spawn, tracker_with_champion, wrk  # noqa: E402
from bench.compare_workers import rss_mb  # noqa: E402
from tests.predictor.conftest import VALID_RECORD  # noqa: E402
from tests.support import free_port, serving_workers, stop, wait_for_http  # noqa: E402

WITH, WITHOUT = "with a challenger", "without"
CONCURRENCY = (1, 8)


def churnguard(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"churnguard {' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout


def train_challenger(env: dict[str, str]) -> str:
    out = churnguard(env, "train", "--config", "experiments/baseline.yaml", "--set", "model.params.C=0.05")
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("registered:"))


def shadow_report(url: str) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    report: dict[str, object] = httpx.get(f"{url}/model/shadow", headers=headers, timeout=30).json()
    return report


def settle(url: str, version: str | None) -> None:
    """Wait until the predictor scores with `version` (None: no challenger) and its queue is empty."""
    deadline = time.monotonic() + 60
    while True:
        report = shadow_report(url)
        if (report.get("model") or {}).get("version") == version and report.get("queued") == 0:  # type: ignore[union-attr]
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the predictor did not settle on challenger {version}: {report}")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "shadow.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: run scripts/system-packages.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-bench-shadow-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        tracker, env = tracker_with_champion(work)
        processes.append(tracker)
        challenger = train_challenger(env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        predictor_env = {
            **env,
            "PREDICTOR_PORT": str(port),
            "PREDICTOR_API_KEYS": API_KEY,
            "PREDICTOR_CACHE_DIR": str(work / "cache"),
            "PREDICTOR_AUDIT_URL": f"sqlite:///{work / 'audit.sqlite3'}",
            "PREDICTOR_POLL_SECONDS": "0",  # the alias moves only when this script says so (a push)
            "PREDICTOR_DRIFT_SECONDS": "0.01",
        }
        predictor = spawn([sys.executable, "-m", "services.cli", "serve"], predictor_env, work / "predictor.log")
        processes.append(predictor)
        wait_for_http(f"{url}/health/ready", 120, predictor)
        cli_env = {**env, "CHURNGUARD_PREDICTOR_URLS": url, "CHURNGUARD_API_KEY": API_KEY}
        body = work / "one.json"
        body.write_text(json.dumps(VALID_RECORD))
        headers = {"Authorization": f"Bearer {API_KEY}"}

        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        paired_shares: list[float] = []
        memory_mb = 0.0
        for round_number in range(args.rounds):
            for mode in (WITHOUT, WITH) if round_number % 2 == 0 else (WITH, WITHOUT):
                if mode == WITH:
                    churnguard(cli_env, "shadow", challenger, "--reason", "bench")
                    settle(url, challenger)
                else:
                    churnguard(cli_env, "shadow", "--stop")
                    settle(url, None)
                paired_before = int(shadow_report(url)["paired"]) if mode == WITH else 0  # type: ignore[call-overload]
                answered = 0.0
                for concurrency in CONCURRENCY:
                    figures = wrk(f"{url}/predict", body, concurrency, args.seconds, headers)
                    results.setdefault((mode, concurrency), []).append(figures)
                    answered += figures["requests"] - figures["errors"]
                if mode == WITH:
                    settle(url, challenger)
                    paired = int(shadow_report(url)["paired"]) - paired_before  # type: ignore[call-overload]
                    paired_shares.append(paired / answered)
                    memory_mb = max(
                        memory_mb, *(rss_mb(pid) for pid in serving_workers(predictor.pid) or [predictor.pid])
                    )
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(work, ignore_errors=True)

    def median(mode: str, concurrency: int, figure: str) -> float:
        return statistics.median(r[figure] for r in results[(mode, concurrency)])

    throughput_ratio = median(WITH, 8, "rps") / median(WITHOUT, 8, "rps")
    p99_rise = median(WITH, 1, "p99") - median(WITHOUT, 1, "p99")
    paired_share = min(paired_shares)
    lines = [
        "# The shadow lane's cost to the champion",
        "",
        f"`bench/compare_shadow.py --seconds {args.seconds} --rounds {args.rounds}`: one predictor (1 worker, "
        "durable SQLite audit), the challenger alias set and removed between alternating rounds; medians.",
        "",
        "| | c | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for concurrency in CONCURRENCY:
        for mode in (WITHOUT, WITH):
            lines.append(
                f"| {mode} | {concurrency} | {median(mode, concurrency, 'rps'):,.0f} | "
                f"{median(mode, concurrency, 'p50'):.2f} | {median(mode, concurrency, 'p99'):.2f} |"
            )
    lines += [
        "",
        f"- throughput at c=8 with a challenger: **{throughput_ratio:.2f}x** without (bar: at least 0.85x)",
        f"- p99 at c=1 with a challenger: **{p99_rise:+.2f} ms** (bar: at most +1 ms)",
        f"- answers the challenger scored and stored, lowest round: **{paired_share:.1%}** (bar: at least 90%)",
        f"- the worker's resident memory with both linear models: **{memory_mb:.0f} MB** (bar: 250 MB)",
    ]
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    met = throughput_ratio >= 0.85 and p99_rise <= 1.0 and paired_share >= 0.9 and memory_mb <= 250
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
