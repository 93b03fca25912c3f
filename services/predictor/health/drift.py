"""Drift: the population stability index (PSI) of recent scored records against the served model's
training profile, per feature and for the score.

PSI = sum over bins of (actual - expected) * ln(actual / expected), empty bins floored at 1e-4. Numbers use
the profile's decile bins (a value at or above an edge goes right); categories use their training
frequencies, with one bin for categories training never saw. The window is read from the audit log, so every worker and
replica that shares the log computes the same figures.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.model_metadata import NumericProfile, TrainingProfile

FLOOR = 1e-4
UNSEEN = "(not in training)"


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def missing_profile(profile: NumericProfile) -> bool:
    """Saved before drift bins (no edges) or before their shares were kept: nothing to compare with. Never
    assume equal shares: SeniorCitizen's 84/16 split would read as a PSI of about 3.3, for ever."""
    return not profile.bin_edges or len(profile.bin_fractions) != len(profile.bin_edges) + 1


def numeric_psi(profile: NumericProfile, values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present or missing_profile(profile):
        return None
    bins = len(profile.bin_edges) + 1
    expected = profile.bin_fractions
    counts = [0] * bins
    for value in present:
        counts[bisect.bisect_right(profile.bin_edges, value)] += 1
    return psi(expected, [c / len(present) for c in counts])


def categorical_psi(frequencies: dict[str, float], values: Sequence[Any]) -> float | None:
    if not values or not frequencies:
        return None
    seen = Counter(str(v) if str(v) in frequencies else UNSEEN for v in values)
    categories = [*frequencies, UNSEEN]
    expected = [frequencies.get(c, 0.0) for c in categories]
    return psi(expected, [seen[c] / len(values) for c in categories])


@dataclass(frozen=True)
class DriftReport:
    model_version: str
    records: int  # the window actually used
    window: int
    min_records: int
    computed_at: datetime
    features: dict[str, float | None]
    score: float | None
    reasons: dict[str, str]  # feature (or "score") -> why it is null although the window is full

    def as_dict(self) -> dict[str, Any]:
        enough = self.records >= self.min_records
        return {
            "model_version": self.model_version,
            "records": self.records,
            "window": self.window,
            "min_records": self.min_records,
            "computed_at": self.computed_at.isoformat(timespec="seconds"),
            "status": "ok" if enough else f"not enough records yet ({self.records} of {self.min_records})",
            "features": {name: _rounded(value) for name, value in self.features.items()},
            "score": _rounded(self.score),
            "reasons": self.reasons,
        }


def drift_report(
    profile: TrainingProfile, version: str, recent: Sequence[tuple[str, float]], window: int, min_records: int
) -> DriftReport:
    """`recent`: (input JSON, probability) of the version's latest scored records, newest first."""
    records = [json.loads(raw) for raw, _ in recent]
    enough = len(records) >= min_records
    features: dict[str, float | None] = {}
    for name, numeric in profile.numeric.items():
        features[name] = numeric_psi(numeric, [r.get(name) for r in records]) if enough else None
    for name, frequencies in profile.categorical.items():
        features[name] = categorical_psi(frequencies, [r.get(name) for r in records]) if enough else None
    score = None
    if enough and profile.score is not None:
        score = numeric_psi(profile.score, [probability for _, probability in recent])
    reasons = {
        name: f"this model version carries no drift profile for {name}: retrain it"
        for name in [*_unprofiled(profile), *([] if profile.score is not None else ["score"])]
    }
    return DriftReport(version, len(records), window, min_records, datetime.now(UTC), features, score, reasons)


def _unprofiled(profile: TrainingProfile) -> list[str]:
    numeric = [name for name, numbers in profile.numeric.items() if missing_profile(numbers)]
    categorical = [name for name, frequencies in profile.categorical.items() if not frequencies]
    score = ["score"] if profile.score is not None and missing_profile(profile.score) else []
    return [*numeric, *categorical, *score]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
