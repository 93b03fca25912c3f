"""Every setting of every service is documented in .env.example (a new field without docs fails here)."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.mailcatcher.main import MailCatcherSettings
from services.monitor.alertmanager import AlertmanagerSettings
from services.monitor.settings import MonitorSettings
from services.predictor.settings import PredictorSettings
from services.tracker.settings import TrackerSettings
from services.weekly_list.client import WeeklyListSettings
from services.weekly_list.job import WeeklyListJobSettings
from tests.support import REPO_ROOT


def env_names(settings: type[BaseSettings]) -> list[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = []
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        else:
            names.append(f"{prefix}{name}".upper())
    return names


@pytest.mark.parametrize(
    "settings",
    [
        PredictorSettings,
        MonitorSettings,
        TrackerSettings,
        WeeklyListSettings,
        WeeklyListJobSettings,
        MailCatcherSettings,
        AlertmanagerSettings,
    ],
)
def test_every_setting_appears_in_env_example(settings: type[BaseSettings]) -> None:
    documented = (REPO_ROOT / ".env.example").read_text()
    missing = [name for name in env_names(settings) if f"{name}=" not in documented]
    assert missing == []
