"""Record one experiment in MLflow: params as used, data, provenance, metrics, plots, model + version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
from mlflow.models import infer_signature

from services.common.customer import ID_FIELD
from services.common.hashing import file_sha256
from services.common.model_metadata import Canary, ModelMetadata
from services.tracker import plots
from services.tracker.config import ExperimentConfig, flatten
from services.tracker.data import DataIntegrityError, TrainingData, load_training_data, parse_training_csv
from services.tracker.gate import SPLIT_ARTIFACT, TEST_CUSTOMERS_ARTIFACT
from services.tracker.provenance import code_version, environment
from services.tracker.settings import TrackerSettings
from services.tracker.train import TrainingResult, feature_importance, fit_and_evaluate, json_value

log = logging.getLogger(__name__)

CONFIG_ARTIFACT = "config.resolved.json"
PREDICTIONS_ARTIFACT = "evaluation/test_predictions.json"
# skops refuses unknown types on load. Ours are numpy dtypes (OneHotEncoder) and the boosted trees'
# TreePredictor (unchecked node indices: trusted only because the registry holds our own training output).
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class ExperimentOutcome:
    """What `churnguard train` reports."""

    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]


def run_experiment(
    config: ExperimentConfig, settings: TrackerSettings, config_path: Path | None = None, data_path: Path | None = None
) -> ExperimentOutcome:
    """Train, log and register. Never touches the champion alias.

    `data_path`: another copy of the customer data (refreshed data). Every row is validated as usual;
    its sha256 is logged, not required to equal the official file's.
    """
    if data_path is not None and not data_path.is_file():
        raise DataIntegrityError(f"--data {data_path}: no such file")
    data = load_training_data(settings) if data_path is None else parse_training_csv(data_path, file_sha256(data_path))
    result = fit_and_evaluate(config, data)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(config.experiment_name)
    with mlflow.start_run() as run:
        _log_params_and_tags(result, data, config_path)
        mlflow.log_metrics({**result.metrics, "threshold": result.threshold})
        _log_evidence(result, data)
        info = _log_model(result, data, settings, run.info.run_id)
    version = str(info.registered_model_version)
    log.info("registered %s version %s from run %s", settings.registered_model_name, version, run.info.run_id)
    return ExperimentOutcome(run.info.run_id, settings.registered_model_name, version, result.metrics)


def _log_params_and_tags(result: TrainingResult, data: TrainingData, config_path: Path | None) -> None:
    params = flatten("config", result.config.model_dump())
    params.update({f"estimator.{k}": v for k, v in result.estimator_params().items()})
    params["seed"] = result.config.seed
    mlflow.log_params(params)
    dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
        data.features.assign(Churn=data.labels.to_numpy()),
        source=str(data.path),
        name="telco_customer_churn",
        targets="Churn",
    )
    mlflow.log_input(dataset, context="training")
    mlflow.set_tags(
        {
            "data_sha256": data.sha256,
            "data_rows": str(data.rows),
            "split_fingerprint": result.split_fingerprint,
            "threshold_rule": result.config.threshold_rule,
            "config_file": str(config_path) if config_path else "",
            **code_version(),
            **environment(),
        }
    )


def _log_evidence(result: TrainingResult, data: TrainingData) -> None:
    mlflow.log_dict(result.config.model_dump(), CONFIG_ARTIFACT)
    mlflow.log_dict(
        {
            "train": data.ids.iloc[result.split.train].tolist(),
            "validation": data.ids.iloc[result.split.validation].tolist(),
            "test": result.test_ids,
        },
        SPLIT_ARTIFACT,
    )
    test_rows = data.features.iloc[result.split.test].to_dict("records")
    mlflow.log_dict(
        {
            "records": [
                {ID_FIELD: customer_id, **{k: json_value(v) for k, v in row.items()}}
                for customer_id, row in zip(result.test_ids, test_rows, strict=True)
            ],
            "labels": result.test_labels.tolist(),
        },
        TEST_CUSTOMERS_ARTIFACT,
    )
    mlflow.log_dict(
        {"customerID": result.test_ids, "probability": result.test_probabilities.tolist()}, PREDICTIONS_ARTIFACT
    )
    mlflow.log_dict(result.profile.model_dump(mode="json"), "profile.json")
    names, values, title = feature_importance(result, data)
    figures = {
        "plots/roc.png": plots.roc_figure(result.test_labels, result.test_probabilities),
        "plots/pr.png": plots.pr_figure(result.test_labels, result.test_probabilities),
        "plots/calibration.png": plots.calibration_figure(result.test_labels, result.test_probabilities),
        "plots/feature_importance.png": plots.importance_figure(names, values, title),
    }
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plt.close(figure)


def _log_model(
    result: TrainingResult, data: TrainingData, settings: TrackerSettings, run_id: str
) -> mlflow.models.model.ModelInfo:
    example = data.features.iloc[result.split.train[:5]]
    signature = infer_signature(example, result.pipeline.predict_proba(example))
    metadata = ModelMetadata(
        threshold=result.threshold,
        threshold_rule=result.config.threshold_rule,
        canary=Canary(record=result.canary_record, expected_probability=result.canary_probability),
        profile=result.profile,
        data_sha256=data.sha256,
        training_metrics=result.metrics,
        params={k: str(v) for k, v in result.estimator_params().items()},
        model_family=result.config.model.family,
        code_version=code_version()["git_commit"],
        run_id=run_id,
    ).model_dump(mode="json")
    return mlflow.sklearn.log_model(
        result.pipeline,
        name="model",
        signature=signature,
        input_example=example,
        metadata=metadata,
        pyfunc_predict_fn="predict_proba",
        registered_model_name=settings.registered_model_name,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
