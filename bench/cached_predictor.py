"""One predictor serving the model cached by `make up`, with the registry unreachable: for the benchmarks
that measure the predictor itself (audit, reasons, weekly list), not the model's loading."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.compare_serving import API_KEY, spawn
from tests.support import free_port, wait_for_http

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "var" / "predictor" / "model-cache"


def has_cache(cache: Path) -> bool:
    if any(cache.glob("*/current.json")):
        return True
    print(f"no model cache in {cache}: run `make up` once", file=sys.stderr)
    return False


def start_cached_predictor(cache: Path, work: Path, name: str, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """A predictor on a free port with its own copy of the cache under `work`; ready when this returns."""
    port = free_port()
    copy = work / f"cache-{name}"
    shutil.copytree(cache, copy)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:1",  # unreachable: the cached model serves
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PREDICTOR_PORT": str(port),
        "PREDICTOR_CACHE_DIR": str(copy),
        "PREDICTOR_API_KEYS": API_KEY,
        "PREDICTOR_AUDIT_URL": f"sqlite:///{work / f'audit-{name}.sqlite3'}",
        "PREDICTOR_POLL_SECONDS": "0",
        **settings,
    }
    process = spawn([sys.executable, "-m", "services.cli", "serve"], env, work / f"predictor-{name}.log")
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health/ready", 120, process)
    return process, url
