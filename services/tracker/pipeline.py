"""The model: preprocessing and estimator in one sklearn Pipeline, so serving needs nothing else."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from services.common.customer import CATEGORICAL_FIELDS, NUMERIC_FIELDS
from services.common.pipeline_steps import CLASSIFIER_STEP, PREPROCESS_STEP
from services.tracker.config import ModelConfig

ESTIMATORS = {
    "logistic_regression": LogisticRegression,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}


def build_pipeline(model: ModelConfig, seed: int) -> Pipeline:
    """Null TotalCharges (tenure 0) becomes 0 charges; categories are one-hot encoded."""
    params = dict(model.params)
    params.setdefault("random_state", seed)
    estimator = ESTIMATORS[model.family](**params)
    numeric = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=0.0)), ("scale", StandardScaler())])
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, list(NUMERIC_FIELDS)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FIELDS)),
        ]
    )
    return Pipeline([(PREPROCESS_STEP, preprocess), (CLASSIFIER_STEP, estimator)])
