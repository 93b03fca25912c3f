"""The typed contract training writes and serving validates: old models pass, nonsense is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from services.common.model_metadata import ModelMetadata

LEGACY_MLMODEL = Path(__file__).resolve().parents[1] / "fixtures" / "model-registered-before-the-house" / "MLmodel"


def legacy_metadata() -> dict[str, Any]:
    metadata: dict[str, Any] = yaml.safe_load(LEGACY_MLMODEL.read_text(encoding="utf-8"))["metadata"]
    return metadata


def test_metadata_written_before_the_typed_contract_validates() -> None:
    metadata = ModelMetadata.model_validate(legacy_metadata())
    assert metadata.profile.numeric["tenure"].bin_edges == []  # not recorded then: defaults, not a refusal
    assert metadata.profile.score is None
    assert metadata.profile.numeric["tenure"].max == 72


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["profile"]["numeric"].update(age={"min": 0, "max": 1}), "numeric fields the schema lacks"),
        (lambda m: m["profile"]["categorical"].update(Planet={"Mars": 1.0}), "categorical fields the schema lacks"),
        (lambda m: m["canary"].update(expected_probability=1.5), "within 0..1"),
        (lambda m: m.update(threshold=-0.1), "greater than or equal to 0"),
    ],
)
def test_metadata_that_cannot_describe_a_churn_model_is_refused(change: Any, message: str) -> None:
    metadata = legacy_metadata()
    change(metadata)
    with pytest.raises(ValidationError, match=message):
        ModelMetadata.model_validate(metadata)
