"""What MODEL_URI resolves to now, and whether the served version is it: the truth /model reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RegistryStatus:
    uri: str
    target_version: str | None  # what the registry designates (None: resolves to nothing, or not asked yet)
    matches: bool  # the served version is the target
    reachable: bool
    checked_at: datetime | None
    detail: str

    @classmethod
    def not_checked(cls, uri: str) -> RegistryStatus:
        return cls(uri, None, False, False, None, "the registry has not been asked yet")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "checked_at": None if self.checked_at is None else self.checked_at.isoformat()}
