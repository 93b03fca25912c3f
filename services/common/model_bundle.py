"""A registered model version as served: pipeline + what it carries (threshold, canary, profile), checked.

Shared by the promotion gate and the predictor so both apply the same checks to the same artifacts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from services.common.customer import SIGNATURE_TYPES
from services.common.frame import Columns, columns_to_frame, records_to_columns
from services.common.model_metadata import ModelMetadata, TrainingProfile

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient
    from sklearn.pipeline import Pipeline

CANARY_TOLERANCE = 1e-9


class ModelRejected(RuntimeError):
    """The artifacts cannot be served; the message names the failed check."""


@dataclass(frozen=True)
class ModelBundle:
    """One model version, loaded from a local copy of its artifacts.

    The sklearn pipeline is loaded on first use: a predictor serving a linear model from its cache
    never needs it (nor sklearn, scipy, pandas)."""

    name: str
    version: str
    run_id: str
    metadata: ModelMetadata
    signature: dict[str, str]
    path: Path
    mlmodel: dict[str, Any] = field(repr=False)

    @cached_property
    def pipeline(self) -> Pipeline:
        try:
            return _load_sklearn(self.path, self.mlmodel)
        except Exception as error:  # noqa: BLE001 - any unreadable artifact is a rejection, named here
            raise ModelRejected(f"artifacts unreadable: {type(error).__name__}: {error}") from error

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def canary_record(self) -> dict[str, Any]:
        return dict(self.metadata.canary.record)

    @property
    def canary_expected(self) -> float:
        return self.metadata.canary.expected_probability

    @property
    def profile(self) -> TrainingProfile:
        return self.metadata.profile

    @property
    def canary_columns(self) -> Columns:
        return records_to_columns([self.canary_record])

    def pipeline_probabilities(self, columns: Columns) -> list[float]:
        """Churn probabilities straight from the sklearn pipeline (the reference path)."""
        probabilities: list[float] = self.pipeline.predict_proba(columns_to_frame(columns))[:, 1].tolist()
        return probabilities


def download_version(client: MlflowClient, name: str, version: str, destination: Path) -> Path:
    """Copy a version's model artifacts to `destination` (which must not exist yet)."""
    import mlflow.artifacts  # here, not at import: a restart from the cache never needs mlflow (~0.8 s)

    destination.mkdir(parents=True, exist_ok=False)
    source = client.get_model_version_download_uri(name, version)
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=str(destination), tracking_uri=client.tracking_uri
        )
    )


def load_bundle(path: Path, name: str, version: str, run_id: str, check_pipeline: bool = True) -> ModelBundle:
    """Load and check: metadata present, signature equals the customer schema, canary reproduces.

    With `check_pipeline=False` the pipeline is not loaded: the caller checks the canary on the
    scorer it serves with."""
    try:
        mlmodel = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
        if "sklearn" not in mlmodel["flavors"]:
            raise KeyError("no sklearn flavor")
    except Exception as error:  # noqa: BLE001 - any unreadable artifact is a rejection, named below
        raise ModelRejected(f"artifacts unreadable: {type(error).__name__}: {error}") from error
    raw_metadata = mlmodel.get("metadata") or {}
    missing = {"threshold", "canary", "profile"} - raw_metadata.keys()
    if missing:
        raise ModelRejected(f"model metadata lacks {sorted(missing)}")
    try:
        metadata = ModelMetadata.model_validate(raw_metadata)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ModelRejected(f"model metadata invalid: {problems}") from None
    inputs = (mlmodel.get("signature") or {}).get("inputs")
    signature = {column["name"]: column["type"] for column in json.loads(inputs)} if inputs else {}
    bundle = ModelBundle(name, version, run_id, metadata, signature, path, mlmodel)
    check_signature(bundle)
    if check_pipeline:
        check_canary(bundle.canary_expected, bundle.pipeline_probabilities(bundle.canary_columns)[0])
    return bundle


def _load_sklearn(path: Path, mlmodel: dict[str, Any]) -> Pipeline:
    """skops files directly (what our tracker writes); any other format through MLflow's own loader."""
    from sklearn.pipeline import Pipeline

    flavor = mlmodel["flavors"]["sklearn"]
    if flavor.get("serialization_format") == "skops":
        import skops.io

        loaded = skops.io.load(path / flavor["pickled_model"], trusted=flavor.get("skops_trusted_types") or [])
    else:
        import mlflow.sklearn

        loaded = mlflow.sklearn.load_model(str(path))
    if not isinstance(loaded, Pipeline):
        raise TypeError(f"expected an sklearn Pipeline, got {type(loaded).__name__}")
    return loaded


def check_signature(bundle: ModelBundle) -> None:
    """The model's input signature must be exactly the customer schema's features, in order, typed."""
    if list(bundle.signature.items()) != list(SIGNATURE_TYPES.items()):
        expected = list(SIGNATURE_TYPES.items())
        differences = sorted(set(bundle.signature.items()) ^ set(expected))
        raise ModelRejected(f"signature differs from the customer schema: {differences or 'column order'}")


def canary_problem(expected: float, actual: float) -> str | None:
    """The one canary rule: the prediction reproduces the training-time probability within tolerance."""
    if not math.isfinite(actual) or abs(actual - expected) > CANARY_TOLERANCE:
        return f"canary gave {actual!r}, expected {expected!r} (tolerance {CANARY_TOLERANCE})"
    return None


def check_canary(expected: float, actual: float) -> None:
    """Refuse a model whose canary does not reproduce (the gate and the predictor's loader)."""
    problem = canary_problem(expected, actual)
    if problem is not None:
        raise ModelRejected(problem)
