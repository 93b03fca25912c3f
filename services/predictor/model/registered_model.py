"""A registered model version loaded and checked exactly as the predictor loads it, for the tools that
work beside the predictor (replay, drift-report)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from services.common.model_bundle import download_version, load_bundle
from services.predictor.scoring.served_model import ServedModel


def load_version(tracking_uri: str, name: str, version: str, run_id: str) -> ServedModel:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri, tracking_uri)
    with tempfile.TemporaryDirectory(prefix="churnguard-model-") as scratch:
        path = download_version(client, name, version, Path(scratch) / "model")
        bundle = load_bundle(path, name, version, run_id)
        return ServedModel.build(bundle, "registry", datetime.now(UTC), 0.0)
