"""Soft rules: values inside the hard rules but outside what the training data held are named, not refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.customer import allowed_categories
from services.common.frame import Columns
from services.common.model_metadata import TrainingProfile


@dataclass(frozen=True)
class ProfileWarning:
    field: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class ProfileLimits:
    """The training profile's ranges, and categories where the training data lacks some the schema allows."""

    numeric_bounds: tuple[tuple[str, float, float], ...] = ()
    categories: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(cls, profile: TrainingProfile) -> ProfileLimits:
        bounds = tuple((name, numeric.min, numeric.max) for name, numeric in profile.numeric.items())
        categories = tuple(
            (name, frozenset(values))
            for name, values in profile.categorical.items()
            if set(values) != set(allowed_categories(name))
        )
        return cls(bounds, categories)

    def warnings(self, columns: Columns) -> dict[int, list[ProfileWarning]]:
        """Record index -> values inside the hard rules but outside what the training data held."""
        found: dict[int, list[ProfileWarning]] = {}
        for name, low, high in self.numeric_bounds:
            outside = [(i, v) for i, v in enumerate(columns[name]) if v is not None and not low <= v <= high]
            for i, value in outside:
                found.setdefault(i, []).append(
                    ProfileWarning(name, value, f"outside the training data's range {low:g}..{high:g}")
                )
        for name, allowed in self.categories:
            for i, value in enumerate(columns[name]):
                if value not in allowed:
                    found.setdefault(i, []).append(
                        ProfileWarning(name, value, "a category the training data does not hold")
                    )
        return found
