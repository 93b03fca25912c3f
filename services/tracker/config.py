"""Experiment configs: YAML file + `--set key=value` overrides, validated before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from services.common.call_list import CALL_LIST_FRACTION

ModelFamily = Literal["logistic_regression", "hist_gradient_boosting"]


class ModelConfig(BaseModel):
    """Which estimator, with which hyperparameters (passed to its constructor as they are)."""

    model_config = ConfigDict(extra="forbid")
    family: ModelFamily
    params: dict[str, Any] = Field(default_factory=dict)


class SplitConfig(BaseModel):
    """Stratified train/validation/test fractions; the split's randomness comes from `seed`."""

    model_config = ConfigDict(extra="forbid")
    validation_size: float = Field(0.2, gt=0, lt=0.5)
    test_size: float = Field(0.2, gt=0, lt=0.5)


class ExperimentConfig(BaseModel):
    """One experiment, fully resolved: what `churnguard train` runs and `reproduce` re-runs."""

    model_config = ConfigDict(extra="forbid")
    seed: int
    experiment_name: str = "churn"
    model: ModelConfig
    split: SplitConfig = Field(default_factory=SplitConfig)
    # Threshold rule: the validation-set threshold that maximises F1 (ties -> the lower threshold).
    threshold_rule: Literal["max_f1"] = "max_f1"
    call_list_fraction: float = Field(CALL_LIST_FRACTION, gt=0, le=1)


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says which."""


def load_config(path: Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read YAML, apply dotted overrides (values parsed as YAML scalars), validate."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping with a top-level 'seed'")
    for override in overrides or []:
        apply_override(raw, override)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValueError as error:
        raise ConfigError(f"invalid config {path}: {error}") from error


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set `a.b.c=value` inside the nested mapping, creating levels as needed."""
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set takes key=value, got {override!r}")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping")
        node = child
    node[leaf] = yaml.safe_load(value)


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """Nested mapping -> dotted keys, for logging every resolved param."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(flatten(f"{prefix}.{key}" if prefix else str(key), child))
        return flat
    return {prefix: value}
