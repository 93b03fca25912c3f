"""Bounded load against a running predictor on loopback: mixed valid/invalid, single and batch requests.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --clients 16 --seconds 30 [--pid PID] [--api-key K]

Reports requests/s, p50/p95/p99, 5xx, connection errors, predictions served and (with --pid) the
server's RSS before and after. Loopback only; stops by itself after --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

VALID: dict[str, Any] = {
    "customerID": "LOAD-0001",
    "gender": "Male",
    "SeniorCitizen": 0,
    "Partner": "No",
    "Dependents": "No",
    "tenure": 34,
    "PhoneService": "Yes",
    "MultipleLines": "No",
    "InternetService": "DSL",
    "OnlineSecurity": "Yes",
    "OnlineBackup": "No",
    "DeviceProtection": "Yes",
    "TechSupport": "No",
    "StreamingTV": "No",
    "StreamingMovies": "No",
    "PaperlessBilling": "No",
    "Contract": "One year",
    "PaymentMethod": "Mailed check",
    "MonthlyCharges": 56.95,
    "TotalCharges": 1889.5,
}
INVALID = [{**VALID, "tenure": -1}, {**VALID, "SeniorCitizen": True}, {**VALID, "PhoneService": "No"}, {"x": 1}]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    predictions: int = 0


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


async def client_loop(http: httpx.AsyncClient, url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.6:
            path, body, count = "/predict", {**VALID, "customerID": f"L{rng.randrange(10**6)}"}, 1
        elif roll < 0.8:
            path, body, count = "/predict", rng.choice(INVALID), 0
        elif roll < 0.95:
            size = rng.randint(1, 200)
            path, body, count = "/predict/batch", {"customers": [VALID] * size}, size
        else:
            path, body, count = "/predict/batch", {"customers": [VALID, rng.choice(INVALID)]}, 0
        started = time.perf_counter()
        try:
            response = await http.post(
                url + path, content=json.dumps(body), headers={"content-type": "application/json"}
            )
        except httpx.TransportError:
            tally.connection_errors += 1
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            tally.predictions += count


async def run(url: str, clients: int, seconds: float, api_key: str | None, seed: int) -> Tally:
    host = urlparse(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"refusing to load {host}: loopback only")
    tally = Tally()
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(client_loop(http, url, deadline, tally, random.Random(seed + i)) for i in range(clients))
        )
    return tally


def summary(tally: Tally, seconds: float, rss_before: float | None, rss_after: float | None) -> dict[str, Any]:
    ordered = sorted(tally.latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "requests": len(tally.latencies),
        "requests_per_second": round(len(tally.latencies) / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
        "status_counts": dict(sorted(tally.statuses.items())),
        "server_errors": sum(n for status, n in tally.statuses.items() if status >= 500),
        "connection_errors": tally.connection_errors,
        "predictions_served": tally.predictions,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--api-key")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.clients <= 256:
        raise SystemExit("--seconds must be in (0, 600] and --clients in (0, 256]")
    before = rss_mb(args.pid)
    tally = asyncio.run(run(args.url, args.clients, args.seconds, args.api_key, args.seed))
    print(json.dumps(summary(tally, args.seconds, before, rss_mb(args.pid)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
