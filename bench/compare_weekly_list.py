"""The weekly list end to end through HTTP, side by side in one run, against a plain loop.

One predictor serves the cached model (from `make up`). For 10,000 and 100,000 customers (the Telco rows
repeated with fresh ids) it times, alternately:
- `churnguard weekly-list` (checks every row, skips bad ones, reasons and warnings, one model version);
- a plain loop: the same batches posted with `requests` (reasons included), sorted, written as CSV,
  with no checks at all;
and reports wall time and each client's peak RSS.

    .venv/bin/python bench/compare_weekly_list.py [--rounds 2] [--top 500]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cached_predictor import DEFAULT_CACHE, has_cache, start_cached_predictor  # noqa: E402
from bench.compare_serving import API_KEY  # noqa: E402
from services.common.paths import SHARED_DATA_FILE  # noqa: E402
from services.weekly_list.building import Rejected, check_row  # noqa: E402
from tests.support import stop  # noqa: E402

BATCH = 1000
PLAIN_LOOP = """
import csv, sys, requests
url, key, source, output, top, batch_size = sys.argv[1:7]
rows = list(csv.DictReader(open(source, encoding="utf-8")))
numbers = {"tenure": int, "SeniorCitizen": int, "MonthlyCharges": float, "TotalCharges": float}
for row in rows:
    row.pop("Churn", None)  # the label, not a customer field
    for name, kind in numbers.items():
        row[name] = kind(row[name]) if row[name].strip() else None
answers = []
with requests.Session() as http:
    http.headers["Authorization"] = f"Bearer {key}"
    for start in range(0, len(rows), int(batch_size)):
        reply = http.post(f"{url}/predict/batch?reasons=3", json={"customers": rows[start:start + int(batch_size)]})
        reply.raise_for_status()
        answers += reply.json()["predictions"]
answers.sort(key=lambda p: -p["churn_probability"])
with open(output, "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["rank", "customerID", "churn_probability", "prediction_id", "reasons"])
    for rank, p in enumerate(answers[: int(top)], start=1):
        writer.writerow([rank, p["customerID"], p["churn_probability"], p["prediction_id"],
                         "; ".join(r["text"] for r in p["reasons"])])
"""


def export(path: Path, customers: int) -> Path:
    """Valid rows only: the plain loop has no way to skip a bad one (its whole batch would be refused)."""
    lines = SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()
    header = lines[0]
    names = next(csv.reader([header]))
    body = [
        line
        for number, line in enumerate(lines[1:], start=2)
        if not isinstance(check_row(number, dict(zip(names, next(csv.reader([line])), strict=True))), Rejected)
    ]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for n in range(customers):
            row = body[n % len(body)]
            handle.write(f"BENCH-{n:07d}{row[row.index(',') :]}\n")
    return path


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the child's peak RSS in MB (wait4's rusage, one child at a time)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:4]} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "weekly-list.md")
    args = parser.parse_args()
    if not has_cache(args.cache):
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-list-bench-"))
    predictor, url = start_cached_predictor(args.cache, work, "list")
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    try:
        client_env = {
            **os.environ,
            "PREDICTOR_URL": url,
            "PREDICTOR_API_KEY": API_KEY,
            "PREDICTOR_BATCH_SIZE": str(BATCH),
        }
        (work / "plain.py").write_text(PLAIN_LOOP)
        for customers in (10_000, 100_000):
            source = export(work / f"export-{customers}.csv", customers)
            commands = {
                "churnguard weekly-list": [
                    sys.executable,
                    "-m",
                    "services.cli",
                    "weekly-list",
                    "--input",
                    str(source),
                    "--top",
                    str(args.top),
                    "--output",
                    str(work / "list.csv"),
                ],
                "plain requests loop": [
                    sys.executable,
                    str(work / "plain.py"),
                    url,
                    API_KEY,
                    str(source),
                    str(work / "plain.csv"),
                    str(args.top),
                    str(BATCH),
                ],
            }
            for _ in range(args.rounds):
                for name, command in commands.items():
                    results.setdefault((name, customers), []).append(timed(command, client_env))
    finally:
        stop(predictor)
        shutil.rmtree(work, ignore_errors=True)
    report = render(args, results)
    args.output.write_text(report)
    print(report)
    return 0


def render(args: argparse.Namespace, results: dict[tuple[str, int], list[tuple[float, float]]]) -> str:
    lines = [
        "# Weekly list benchmark",
        "",
        f"`.venv/bin/python bench/compare_weekly_list.py --rounds {args.rounds} --top {args.top}` on "
        f"{os.cpu_count()} cores: one predictor (1 worker, cached model, batched audit) on loopback, batches of "
        f"{BATCH} with `?reasons=3`, the two clients alternating; best wall time of the rounds, peak RSS of the "
        "client process.",
        "",
        "| customers | client | wall s | customers/s | peak RSS MB |",
        "|---:|---|---:|---:|---:|",
    ]
    best = {key: min(runs) for key, runs in results.items()}
    for (name, customers), (seconds, rss) in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"| {customers:,} | {name} | {seconds:.1f} | {customers / seconds:,.0f} | {rss:.0f} |")
    lines.append("")
    for customers in (10_000, 100_000):
        ours, plain = best[("churnguard weekly-list", customers)], best[("plain requests loop", customers)]
        lines.append(
            f"- {customers:,} customers: churnguard at {plain[0] / ours[0]:.2f}x the plain loop's speed "
            f"(bar: >= 0.9x), RSS {ours[1]:.0f} MB vs {plain[1]:.0f} MB."
        )
    rss_10k, rss_100k = best[("churnguard weekly-list", 10_000)][1], best[("churnguard weekly-list", 100_000)][1]
    lines += [
        f"- churnguard's RSS for 100,000 vs 10,000 customers: {rss_100k:.0f} MB vs {rss_10k:.0f} MB "
        "(bar: under 150 MB and no higher than for 10,000).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
