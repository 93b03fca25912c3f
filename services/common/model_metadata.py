"""What a registered model carries across the wall from training to serving, typed and validated.

Training writes `ModelMetadata` into the MLmodel file; the predictor and the gate validate it when a
model is loaded. New fields get defaults, so models registered by earlier code still load.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.customer import CATEGORICAL_FIELDS, NUMERIC_FIELDS

# Decile edges: enough resolution for a population stability index, few enough to fill each bin.
DRIFT_BIN_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class NumericProfile(BaseModel):
    """One number as the training split held it."""

    model_config = ConfigDict(extra="ignore")
    min: float
    max: float
    quantiles: dict[str, float] = Field(default_factory=dict)
    null_fraction: float = 0.0
    bin_edges: list[float] = Field(default_factory=list, description="inner edges of the drift bins")
    bin_fractions: list[float] = Field(
        default_factory=list,
        description="the training share in each bin (a value at or above an edge goes right); empty: unknown",
    )


class TrainingProfile(BaseModel):
    """The training split's data: ranges for soft warnings, bins and frequencies for drift."""

    model_config = ConfigDict(extra="ignore")
    rows: int = 0
    numeric: dict[str, NumericProfile] = Field(default_factory=dict)
    categorical: dict[str, dict[str, float]] = Field(default_factory=dict, description="category -> frequency")
    score: NumericProfile | None = Field(None, description="the model's probabilities on the training split")

    @field_validator("numeric")
    @classmethod
    def _known_numeric(cls, value: dict[str, NumericProfile]) -> dict[str, NumericProfile]:
        unknown = set(value) - set(NUMERIC_FIELDS)
        if unknown:
            raise ValueError(f"profile names numeric fields the schema lacks: {sorted(unknown)}")
        return value

    @field_validator("categorical")
    @classmethod
    def _known_categorical(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        unknown = set(value) - set(CATEGORICAL_FIELDS)
        if unknown:
            raise ValueError(f"profile names categorical fields the schema lacks: {sorted(unknown)}")
        return value


class Canary(BaseModel):
    """A fixed record and the probability the model gave it at training time."""

    model_config = ConfigDict(extra="ignore")
    record: dict[str, Any]
    expected_probability: float

    @field_validator("expected_probability")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError("the canary's expected probability must be within 0..1")
        return value


class ModelMetadata(BaseModel):
    """Everything serving needs besides the pipeline; written by training, validated at load."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())
    threshold: float = Field(ge=0.0, le=1.0)
    canary: Canary
    profile: TrainingProfile
    threshold_rule: str | None = None
    data_sha256: str | None = None
    training_metrics: dict[str, float] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    model_family: str | None = None
    code_version: str | None = None
    run_id: str | None = None
