"""Why a customer is at risk: each feature's contribution to the logit, against the training population's
average customer, in words a caller can use ("month-to-month contract", "first months as a customer").

- Linear models: exact. logit = baseline + sum of contributions, where a number contributes
  weight * (value - training mean) / scale and a category contributes its one-hot weight minus the
  training frequency-weighted average of its field's weights. Nothing is approximated.
- Other models: occlusion. A feature's contribution is the logit change when it alone is set to the
  training population's typical value (median number, most frequent category): the stated baseline is
  that typical customer's logit; the contributions need not sum to the logit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from services.common.frame import Columns
from services.common.model_metadata import TrainingProfile
from services.predictor.scoring.scorers import Scorer
from services.predictor.scoring.scorers.linear import LinearScorer

MAX_REASONS = 10

CATEGORY_WORDS: dict[str, dict[str, str]] = {
    "Contract": {
        "Month-to-month": "month-to-month contract",
        "One year": "one-year contract",
        "Two year": "two-year contract",
    },
    "InternetService": {"Fiber optic": "fiber optic internet", "DSL": "DSL internet", "No": "no internet service"},
    "PaymentMethod": {
        "Electronic check": "pays by electronic check",
        "Mailed check": "pays by mailed check",
        "Bank transfer (automatic)": "automatic bank transfer",
        "Credit card (automatic)": "automatic credit card payment",
    },
    "PaperlessBilling": {"Yes": "paperless billing", "No": "paper billing"},
    "SeniorCitizen": {"1": "senior citizen", "0": "not a senior citizen"},
    "Partner": {"Yes": "has a partner", "No": "no partner"},
    "Dependents": {"Yes": "has dependents", "No": "no dependents"},
    "PhoneService": {"Yes": "phone service", "No": "no phone service"},
    "MultipleLines": {
        "Yes": "multiple phone lines",
        "No": "a single phone line",
        "No phone service": "no phone service",
    },
    "gender": {"Female": "female", "Male": "male"},
}
SERVICE_WORDS = {
    "OnlineSecurity": "online security",
    "OnlineBackup": "online backup",
    "DeviceProtection": "device protection",
    "TechSupport": "tech support",
    "StreamingTV": "TV streaming",
    "StreamingMovies": "movie streaming",
}


def in_words(feature: str, value: Any) -> str:
    """The plain-words phrase for one feature's value."""
    if feature == "tenure":
        return (
            f"first months as a customer ({value} months)"
            if value is not None and value <= 12
            else (f"{value} months as a customer")
        )
    if feature == "MonthlyCharges":
        return f"monthly charges of ${value:.2f}" if value is not None else "monthly charges unknown"
    if feature == "TotalCharges":
        return f"total charges of ${value:.2f}" if value is not None else "no total charges yet"
    if feature in SERVICE_WORDS:
        service = SERVICE_WORDS[feature]
        return {"Yes": f"has {service}", "No": f"no {service}"}.get(str(value), "no internet service")
    return CATEGORY_WORDS.get(feature, {}).get(str(value), f"{feature}: {value}")


class Explainer(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def baseline(self) -> float:
        """The reference customer's logit."""

    def contributions(self, columns: Columns) -> dict[str, list[float]]:
        """Feature -> one contribution per record."""


def top_reasons(explainer: Explainer, columns: Columns, limit: int) -> list[list[dict[str, Any]]]:
    """Per record, up to `limit` features raising the risk most (positive contributions only), largest first."""
    by_feature = explainer.contributions(columns)
    count = len(next(iter(columns.values()), ()))
    answers = []
    for i in range(count):
        raising = sorted(
            ((values[i], feature) for feature, values in by_feature.items() if values[i] > 0), reverse=True
        )[:limit]
        answers.append(
            [{"feature": f, "text": in_words(f, columns[f][i]), "contribution": round(c, 6)} for c, f in raising]
        )
    return answers


@dataclass(frozen=True)
class LinearExplainer:
    """Exact for the linear scorer: baseline + sum(contributions) == logit."""

    scorer: LinearScorer
    category_means: dict[str, float]  # field -> frequency-weighted mean one-hot contribution
    method: str = "exact logit decomposition against the training population's average"

    @classmethod
    def of(cls, scorer: LinearScorer, profile: TrainingProfile) -> LinearExplainer:
        means = {}
        for name, weights in scorer.categorical:
            frequencies = profile.categorical.get(name, {})
            total = sum(frequencies.values()) or 1.0
            means[name] = sum(weights[category] * share for category, share in frequencies.items()) / total
        return cls(scorer, means)

    @property
    def baseline(self) -> float:
        return self.scorer.intercept + sum(self.category_means.values())

    def contributions(self, columns: Columns) -> dict[str, list[float]]:
        result: dict[str, list[float]] = {}
        for name, fill, mean, weight in self.scorer.numeric:
            result[name] = [((fill if v is None else v) - mean) * weight for v in columns[name]]
        for name, weights in self.scorer.categorical:
            centre = self.category_means[name]
            result[name] = [weights[v] - centre for v in columns[name]]
        return result


@dataclass(frozen=True)
class OcclusionExplainer:
    """Model-agnostic: the logit change when one feature alone takes the typical customer's value."""

    scorer: Scorer
    typical: dict[str, Any]
    baseline: float
    method: str = "occlusion against the training population's typical customer (median, most frequent)"

    @classmethod
    def of(cls, scorer: Scorer, profile: TrainingProfile, record: Columns) -> OcclusionExplainer:
        """`record`: one complete record (the canary), for the fields the profile does not describe."""
        typical: dict[str, Any] = {
            name: p.quantiles.get("0.5", (p.min + p.max) / 2) for name, p in profile.numeric.items()
        }
        typical.update({name: max(freq, key=freq.__getitem__) for name, freq in profile.categorical.items() if freq})
        reference = {name: list(values[:1]) for name, values in record.items()}
        reference.update({name: [value] for name, value in typical.items()})
        return cls(scorer, typical, _logit(scorer.probabilities(reference)[0]))

    def contributions(self, columns: Columns) -> dict[str, list[float]]:
        logits = [_logit(p) for p in self.scorer.probabilities(columns)]
        count = len(logits)
        result = {}
        for name, value in self.typical.items():
            occluded = {**columns, name: [value] * count}
            result[name] = [a - _logit(b) for a, b in zip(logits, self.scorer.probabilities(occluded), strict=True)]
        return result


def explainer_for(scorer: Scorer, profile: TrainingProfile, record: Columns) -> Explainer:
    if isinstance(scorer, LinearScorer):
        return LinearExplainer.of(scorer, profile)
    return OcclusionExplainer.of(scorer, profile, record)


def _logit(probability: float) -> float:
    p = min(max(probability, 1e-15), 1 - 1e-15)
    return math.log(p / (1 - p))
