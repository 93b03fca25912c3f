"""Loading a model checks what it carries: metadata that breaks the contract is a named rejection."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.common.model_bundle import ModelRejected, load_bundle

LEGACY_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "model-registered-before-the-house"


def test_a_model_saved_before_the_typed_contract_loads(tmp_path: Path) -> None:
    bundle = load_bundle(LEGACY_MODEL, "churn-model", "7", "r")
    assert 0 < bundle.threshold < 1 and bundle.profile.numeric["MonthlyCharges"].min == 18.4


def test_metadata_naming_a_field_the_schema_lacks_is_rejected_by_name(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(LEGACY_MODEL, copy)
    mlmodel = yaml.safe_load((copy / "MLmodel").read_text(encoding="utf-8"))
    mlmodel["metadata"]["profile"]["numeric"]["age"] = {"min": 0, "max": 1}
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
    with pytest.raises(ModelRejected, match=r"model metadata invalid: profile\.numeric.*age"):
        load_bundle(copy, "churn-model", "8", "r")
