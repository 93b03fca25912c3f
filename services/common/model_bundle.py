"""A registered model version as served: pipeline + what it carries (threshold, canary, profile), checked.

Shared by the promotion gate and the predictor so both apply the same checks to the same artifacts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from services.common.customer import SIGNATURE_TYPES
from services.common.frame import records_to_frame

CANARY_TOLERANCE = 1e-9


class ModelRejected(RuntimeError):
    """The artifacts cannot be served; the message names the failed check."""


@dataclass(frozen=True)
class ModelBundle:
    """One model version, loaded from a local copy of its artifacts."""

    name: str
    version: str
    run_id: str
    pipeline: Pipeline
    metadata: dict[str, Any]
    signature: dict[str, str]
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def canary_record(self) -> dict[str, Any]:
        return dict(self.metadata["canary"]["record"])

    @property
    def canary_expected(self) -> float:
        return float(self.metadata["canary"]["expected_probability"])

    @property
    def profile(self) -> dict[str, Any]:
        return dict(self.metadata["profile"])

    def pipeline_probability(self, records: list[dict[str, Any]]) -> list[float]:
        """Churn probabilities straight from the sklearn pipeline (the reference path)."""
        return [float(p) for p in self.pipeline.predict_proba(records_to_frame(records))[:, 1]]


def download_version(client: MlflowClient, name: str, version: str, destination: Path) -> Path:
    """Copy a version's model artifacts to `destination` (which must not exist yet)."""
    destination.mkdir(parents=True, exist_ok=False)
    source = client.get_model_version_download_uri(name, version)
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=str(destination), tracking_uri=client.tracking_uri
        )
    )


def load_bundle(path: Path, name: str, version: str, run_id: str) -> ModelBundle:
    """Load and check: metadata present, signature equals the customer schema, canary reproduces."""
    try:
        mlmodel = Model.load(str(path))
        pipeline = mlflow.sklearn.load_model(str(path))
    except Exception as error:  # noqa: BLE001 - any unreadable artifact is a rejection, named below
        raise ModelRejected(f"artifacts unreadable: {type(error).__name__}: {error}") from error
    metadata = mlmodel.metadata or {}
    missing = {"threshold", "canary", "profile"} - metadata.keys()
    if missing:
        raise ModelRejected(f"model metadata lacks {sorted(missing)}")
    signature = (
        {}
        if mlmodel.signature is None
        else {column["name"]: column["type"] for column in mlmodel.signature.inputs.to_dict()}
    )
    bundle = ModelBundle(name, version, run_id, pipeline, metadata, signature, path)
    check_signature(bundle)
    check_canary(bundle.canary_expected, bundle.pipeline_probability([bundle.canary_record])[0])
    return bundle


def check_signature(bundle: ModelBundle) -> None:
    """The model's input signature must be exactly the customer schema's features, in order, typed."""
    if list(bundle.signature.items()) != list(SIGNATURE_TYPES.items()):
        expected = list(SIGNATURE_TYPES.items())
        differences = sorted(set(bundle.signature.items()) ^ set(expected))
        raise ModelRejected(f"signature differs from the customer schema: {differences or 'column order'}")


def check_canary(expected: float, actual: float) -> None:
    """The canary prediction must reproduce the probability recorded at training time."""
    if not math.isfinite(actual) or abs(actual - expected) > CANARY_TOLERANCE:
        raise ModelRejected(f"canary gave {actual!r}, expected {expected!r} (tolerance {CANARY_TOLERANCE})")
