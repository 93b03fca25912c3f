"""Two versions of churnguard serve, side by side in one run: does a change cost speed?

Serves the same cached model from a git revision (a temporary worktree) and from this working tree,
both up at once, and alternates wrk runs between them (so drift in the machine hits both alike).
Each server runs as shipped (its own defaults), API-key auth on, the tracker unreachable (both serve
from the cache). Needs a model cache, e.g. the one `make up` leaves in var/predictor/model-cache.

    .venv/bin/python bench/compare_commits.py --before 7f68692 [--rounds 4] [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.compare_serving import wrk  # noqa: E402
from tests.support import free_port, stop, wait_for_http  # noqa: E402

API_KEY = secrets.token_urlsafe(16)  # a throwaway key: auth is on, as in production
RECORD = (
    '{"customerID":"7590-VHVEG","gender":"Female","SeniorCitizen":0,"Partner":"Yes","Dependents":"No",'
    '"tenure":1,"PhoneService":"No","MultipleLines":"No phone service","InternetService":"DSL",'
    '"OnlineSecurity":"No","OnlineBackup":"Yes","DeviceProtection":"No","TechSupport":"No","StreamingTV":"No",'
    '"StreamingMovies":"No","PaperlessBilling":"Yes","Contract":"Month-to-month",'
    '"PaymentMethod":"Electronic check","MonthlyCharges":29.85,"TotalCharges":29.85}'
)


def serve(tree: Path, cache: Path, work: Path, name: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    directory = work / name
    shutil.copytree(cache, directory / "cache")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:1",  # unreachable: both serve the cached model
        "PREDICTOR_PORT": str(port),
        "PREDICTOR_CACHE_DIR": str(directory / "cache"),
        "PREDICTOR_AUDIT_DB": str(directory / "audit.sqlite3"),
        "PREDICTOR_API_KEYS": API_KEY,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (directory / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve"], cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health/ready", 60, process)
    return url, process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a git revision to compare this working tree with")
    parser.add_argument("--cache", type=Path, default=REPO / "var" / "predictor" / "model-cache")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "commits.md")
    args = parser.parse_args()
    if not args.cache.is_dir():
        print(f"no model cache at {args.cache}: run `make up` once (it caches the champion) or pass --cache")
        return 2
    if shutil.which("wrk") is None:
        print("wrk is missing: bash scripts/system-packages.sh installs it")
        return 2
    work = Path(tempfile.mkdtemp(prefix="churnguard-commits-"))
    before_tree = work / "before-tree"
    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.before], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(before_tree), revision], cwd=REPO, check=True)
    body = work / "record.json"
    body.write_text(RECORD)
    servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    rps: dict[tuple[str, int], list[float]] = {}
    try:
        servers[f"before ({revision})"] = serve(before_tree, args.cache, work, "before")
        servers["after (working tree)"] = serve(REPO, args.cache, work, "after")
        headers = {"Authorization": f"Bearer {API_KEY}"}
        for round_number in range(args.rounds):
            order = list(servers.items()) if round_number % 2 == 0 else list(servers.items())[::-1]
            for concurrency in (1, 8, 32):
                for name, (url, _) in order:  # who goes first alternates between rounds
                    result = wrk(f"{url}/predict", body, concurrency, args.seconds, headers)
                    assert result["errors"] == 0, f"{name}: non-2xx answers"
                    rps.setdefault((name, concurrency), []).append(result["rps"])
            print(f"round {round_number + 1}/{args.rounds} done", flush=True)
    finally:
        for _, process in servers.values():
            stop(process)
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=REPO, check=False)
        shutil.rmtree(work, ignore_errors=True)
    names = list(servers)
    lines = [
        f"# churnguard serve, {names[0]} vs {names[1]}",
        "",
        f"`.venv/bin/python bench/compare_commits.py --before {args.before} --rounds {args.rounds} "
        f"--seconds {args.seconds}`: both servers up at once, wrk runs alternating, single records, API key on.",
        "",
        "| concurrency | "
        + " | ".join(f"{n} best / median req/s" for n in names)
        + " | after / before (best, median) |",
        "|---|---|---|---|",
    ]
    for concurrency in (1, 8, 32):
        before, after = (rps[(name, concurrency)] for name in names)
        ratios = (max(after) / max(before), statistics.median(after) / statistics.median(before))
        lines.append(
            f"| {concurrency} | {max(before):,.0f} / {statistics.median(before):,.0f} | "
            f"{max(after):,.0f} / {statistics.median(after):,.0f} | best {ratios[0]:.3f}, median {ratios[1]:.3f} |"
        )
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
