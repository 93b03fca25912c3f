"""Download a registered version and make it ready to serve, in a child process of the predictor.

The child imports MLflow's client (the download) and sklearn (the pipeline's checks, and deriving the
linear scorer kept beside the model); it exits when done. So a worker serving a linear model never
holds those libraries (~150 MB each), not even after a promotion. A model family without a fast path
is loaded with its pipeline by the worker itself, as it must be.

    python -m services.predictor.model.prepare_version TRACKING_URI NAME VERSION RUN_ID DESTINATION
prints one JSON line: {"path": "<model folder, relative to DESTINATION>"} or {"error": "<why>"}.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.common.model_bundle import download_version, load_bundle
from services.predictor.scoring.scorers import choose_scorer


def describe_error(error: BaseException) -> str:
    """One line naming the error's kind and its first line: what /model and the log show."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500]


class PreparationFailed(RuntimeError):
    """The version could not be downloaded or failed its checks; the message says why."""


def prepare(tracking_uri: str, name: str, version: str, run_id: str, destination: Path) -> Path:
    """Download into `destination`, check the pipeline and its canary, keep the linear scorer if any."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri, tracking_uri)
    path = download_version(client, name, version, destination)
    choose_scorer(load_bundle(path, name, version, run_id))
    return path.relative_to(destination)


def prepare_in_child(
    tracking_uri: str, name: str, version: str, run_id: str, destination: Path, timeout: float
) -> Path:
    """Run `prepare` in a child process; the model folder relative to `destination`."""
    command = [sys.executable, "-m", __name__, tracking_uri, name, version, run_id, str(destination)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PreparationFailed(f"preparing version {version} took longer than {timeout:g} s") from None
    lines = finished.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = finished.stderr.strip().splitlines()[-1:] or [f"exit {finished.returncode}"]
        raise PreparationFailed(f"the preparing process failed: {tail[0]}") from None
    if "error" in answer:
        raise PreparationFailed(str(answer["error"]))
    return Path(answer["path"])


def main(argv: list[str]) -> int:
    tracking_uri, name, version, run_id, destination = argv
    try:
        path = prepare(tracking_uri, name, version, run_id, Path(destination))
    except Exception as error:  # noqa: BLE001 - every reason goes back to the predictor, named
        print(json.dumps({"error": describe_error(error)}))
        return 1
    print(json.dumps({"path": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
