"""Does model-health tracking cost the request path anything? Two predictors serve the cached model side by
side; on one, drift and performance are recomputed every second (PREDICTOR_DRIFT_SECONDS=1) while a poller
scrapes /metrics and reads /model/drift and /model/performance every second, as Prometheus and a dashboard
would; the other is left alone. wrk alternates between them (single records, c=8).

    .venv/bin/python bench/compare_model_health.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cached_predictor import DEFAULT_CACHE, has_cache, start_cached_predictor  # noqa: E402
from bench.compare_serving import API_KEY, wrk  # noqa: E402
from tests.predictor.conftest import VALID_RECORD  # noqa: E402
from tests.support import stop  # noqa: E402


def poll(url: str, stopping: threading.Event) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10) as http:
        while not stopping.wait(1.0):
            for path in ("/metrics", "/model/drift", "/model/performance"):
                http.get(f"{url}{path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "model-health.md")
    args = parser.parse_args()
    if not has_cache(args.cache):
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-health-bench-"))
    stopping = threading.Event()
    processes = []
    try:
        tracked, tracked_url = start_cached_predictor(args.cache, work, "tracked", PREDICTOR_DRIFT_SECONDS="1")
        quiet, quiet_url = start_cached_predictor(args.cache, work, "quiet")
        processes = [tracked, quiet]
        threading.Thread(target=poll, args=(tracked_url, stopping), daemon=True).start()
        body = work / "one.json"
        body.write_text(json.dumps(VALID_RECORD))
        urls = {"drift and performance tracked, polled every second": tracked_url, "not polled": quiet_url}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        headers = {"Authorization": f"Bearer {API_KEY}"}
        for _ in range(args.rounds):
            for name, url in urls.items():
                results[name].append(wrk(f"{url}/predict", body, 8, args.seconds, headers))
    finally:
        stopping.set()
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)
    best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
    on, off = (best[name] for name in urls)
    lines = [
        "# Model-health tracking benchmark",
        "",
        f"`.venv/bin/python bench/compare_model_health.py --seconds {args.seconds} --rounds {args.rounds}` on "
        f"{os.cpu_count()} cores: two predictors (1 worker, cached model, batched audit), wrk alternating "
        "(single records, c=8, loopback), best of the rounds. The drift window grows with the records wrk sends.",
        "",
        "| predictor | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} |" for name, r in best.items()),
        "",
        f"- Tracked and polled: {on['rps'] / off['rps']:.2f}x the req/s of the one left alone (bar: within 5%).",
        "",
    ]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
