"""What the watchdog watches: MONITOR_TARGETS (URLs, the default judgement of a health endpoint) and the
optional MONITOR_CONFIG YAML (named targets with Gatus-style conditions and bearer keys), validated at start.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.monitor.conditions import Condition, ConditionError
from services.monitor.push import PushCheck
from services.monitor.settings import MonitorSettings
from services.monitor.state import Target


class TargetsFileError(ValueError):
    """MONITOR_CONFIG cannot be used; the message names the file and the entry."""


class TargetEntry(BaseModel):
    """One target in MONITOR_CONFIG."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    url: str = Field(pattern=r"^https?://")
    conditions: list[str] = Field(default_factory=list)
    bearer_key: str | None = None
    bearer_key_env: str | None = Field(None, description="read the key from this environment variable instead")
    meaning: str = ""

    @field_validator("conditions")
    @classmethod
    def _parseable(cls, conditions: list[str]) -> list[str]:
        for text in conditions:
            try:
                Condition.parse(text)
            except ConditionError as error:
                raise ValueError(str(error)) from error
        return conditions

    def target(self) -> Target:
        key = self.bearer_key
        if self.bearer_key_env:
            key = os.environ.get(self.bearer_key_env)
            if not key:
                raise TargetsFileError(f"target {self.name}: environment variable {self.bearer_key_env} is not set")
        conditions = tuple(Condition.parse(text) for text in self.conditions)
        return Target(self.name, self.url, conditions, key, self.meaning)


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetEntry] = Field(default_factory=list)


def read_targets_file(path: Path) -> list[Target]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return [entry.target() for entry in TargetsFile.model_validate(raw).targets]
    except (OSError, yaml.YAMLError) as error:
        raise TargetsFileError(f"MONITOR_CONFIG {path}: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        )
        raise TargetsFileError(f"MONITOR_CONFIG {path}: {problems}") from error


def configured_targets(settings: MonitorSettings) -> list[Target]:
    """The file's targets, plus MONITOR_TARGETS when it is set explicitly (or when there is no file)."""
    from_file = read_targets_file(settings.monitor_config) if settings.monitor_config else []
    from_env = settings.monitor_targets if (not from_file or "monitor_targets" in settings.model_fields_set) else []
    targets = from_file + [Target.parse(spec) for spec in from_env]
    names = [t.name for t in targets] + [c.name for c in push_checks(settings)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TargetsFileError(f"target names must be unique: {', '.join(duplicates)} appear more than once")
    return targets


def push_checks(settings: MonitorSettings) -> list[PushCheck]:
    return [PushCheck.parse(spec) for spec in settings.monitor_push_checks]
