"""What the watchdog watches: MONITOR_TARGETS (URLs, the default judgement of a health endpoint) and the
optional MONITOR_CONFIG YAML (named targets with Gatus-style conditions and bearer keys), validated at start.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from services.monitor.conditions import Condition, ConditionError
from services.monitor.push import PushCheck
from services.monitor.settings import MonitorSettings
from services.monitor.state import Target

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class TargetsFileError(ValueError):
    """MONITOR_CONFIG cannot be used; the message names the file and the entry."""


def expand(text: str) -> str:
    """`${NAME}` and `${NAME:-default}` from the environment (as Gatus does), so one file serves
    docker-compose and `make up` and keys stay out of it. An unset variable without a default is an error."""

    def value(match: re.Match[str]) -> str:
        name, default = match[1], match[2]
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise TargetsFileError(f"environment variable {name} is not set (or give a default: ${{{name}:-...}})")
        return default

    return _VARIABLE.sub(value, text)


class TargetEntry(BaseModel):
    """One target in MONITOR_CONFIG."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    url: str = Field(pattern=r"^https?://")
    conditions: list[str] = Field(default_factory=list)
    bearer_key: str | None = None
    bearer_key_env: str | None = Field(None, description="read the key from this environment variable instead")
    meaning: str = ""
    depends_on: str | None = Field(None, description="a target whose failure explains this one's: not paged twice")

    @field_validator("conditions")
    @classmethod
    def _parseable(cls, conditions: list[str], info: ValidationInfo) -> list[str]:
        for text in conditions:
            try:
                Condition.parse(text)
            except ConditionError as error:
                raise ValueError(f"target {info.data.get('name', '?')}: {error}") from error
        return conditions

    def target(self) -> Target:
        key = self.bearer_key
        if self.bearer_key_env:
            key = os.environ.get(self.bearer_key_env)
            if not key:
                raise TargetsFileError(f"target {self.name}: environment variable {self.bearer_key_env} is not set")
        conditions = tuple(Condition.parse(text) for text in self.conditions)
        return Target(self.name, self.url, conditions, key or None, self.meaning, self.depends_on)


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetEntry] = Field(default_factory=list)


def read_targets_file(path: Path) -> list[Target]:
    try:
        raw = yaml.safe_load(expand(path.read_text(encoding="utf-8"))) or {}
        return [entry.target() for entry in TargetsFile.model_validate(raw).targets]
    except TargetsFileError as error:
        raise TargetsFileError(f"MONITOR_CONFIG {path}: {error}") from error
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
    known = {t.name for t in targets if t.depends_on is None}
    for target in targets:
        if target.depends_on is not None and target.depends_on not in known:
            raise TargetsFileError(
                f"target {target.name} depends_on {target.depends_on!r}, which is not a target without depends_on"
            )
    return targets


def push_checks(settings: MonitorSettings) -> list[PushCheck]:
    return [PushCheck.parse(spec) for spec in settings.monitor_push_checks]
