"""What reasons cost the predictor, side by side in one run: wrk alternates /predict and /predict?reasons=3
(single records, c=8) on one predictor serving the cached model; then a 1,000-record batch with and without.

    .venv/bin/python bench/compare_reasons.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from tests.predictor.conftest import VALID_RECORD  # noqa: E402
from tests.support import stop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "reasons.md")
    args = parser.parse_args()
    if not has_cache(args.cache):
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-reasons-bench-"))
    predictor, url = start_cached_predictor(args.cache, work, "reasons")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        body = work / "one.json"
        body.write_text(json.dumps(VALID_RECORD))
        routes = {"without reasons": "/predict", "with ?reasons=3": "/predict?reasons=3"}
        single: dict[str, list[dict[str, float]]] = {name: [] for name in routes}
        for _ in range(args.rounds):
            for name, route in routes.items():
                single[name].append(wrk(f"{url}{route}", body, 8, args.seconds, headers))
        batch = {"customers": [{**VALID_RECORD, "customerID": f"B-{i}", "tenure": i % 72} for i in range(1000)]}
        batches: dict[str, list[float]] = {name: [] for name in routes}
        with httpx.Client(headers=headers, timeout=60) as http:
            for _ in range(10):
                for name, route in routes.items():
                    started = time.perf_counter()
                    http.post(f"{url}{route.replace('/predict', '/predict/batch')}", json=batch).raise_for_status()
                    batches[name].append((time.perf_counter() - started) * 1000)
    finally:
        stop(predictor)
        shutil.rmtree(work, ignore_errors=True)
    best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in single.items()}
    lines = [
        "# Reasons benchmark",
        "",
        f"`.venv/bin/python bench/compare_reasons.py --seconds {args.seconds} --rounds {args.rounds}` on "
        f"{os.cpu_count()} cores: one predictor (1 worker, cached linear model, batched audit), wrk alternating "
        "the two routes (single records, c=8, loopback), best of the rounds; then 10 alternating 1,000-record "
        "batches, median.",
        "",
        "| | single req/s | p50 ms | p99 ms | 1,000-record batch ms (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in routes:
        r = best[name]
        lines.append(
            f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {statistics.median(batches[name]):.1f} |"
        )
    ratio = best["with ?reasons=3"]["rps"] / best["without reasons"]["rps"]
    lines += ["", f"- Single records with reasons run at {ratio:.2f}x the req/s without.", ""]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
