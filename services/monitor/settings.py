"""The watchdog's Settings (MONITOR_*, ALERT_*), validated at start: a bad combination fails loudly.

The ALERT_* channels are one class, shared by the watchdog and Alertmanager's rendered configuration,
so both reach the same people with the same settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.common.logs import LogLevel
from services.common.paths import VAR_DIR
from services.monitor.push import PushCheck


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_problem(url: str) -> str | None:
    """What is wrong with a URL's form (a control character, say a '\\r' from a CRLF .env; no scheme or host),
    or None. Whether its server answers is not asked here: an unreachable channel is a failing channel."""
    if _CONTROL.search(url):
        return "contains a control character (a stray \\r from a Windows line ending?)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "has no host"
    return None


def _blank_is_unset(value: object) -> object:
    """docker-compose passes unset optional settings as empty strings."""
    return None if isinstance(value, str) and not value.strip() else value


class AlertChannelSettings(BaseSettings):
    """Email and Slack. Either channel may be unset; both may be set."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    alert_repeat_minutes: float = Field(60.0, gt=0)
    alert_smtp_host: str | None = None
    alert_smtp_port: int = Field(25, ge=1, le=65535)
    alert_smtp_user: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_smtp_starttls: bool = False
    alert_email_from: str = "churnguard-monitor@localhost"
    alert_email_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alert_slack_webhook_url: SecretStr | None = None

    _recipients = field_validator("alert_email_to", mode="before")(_comma_list)
    _blanks = field_validator(
        "alert_smtp_host", "alert_smtp_user", "alert_smtp_password", "alert_slack_webhook_url", mode="before"
    )(_blank_is_unset)

    @model_validator(mode="after")
    def _coherent_channels(self) -> AlertChannelSettings:
        if round(self.alert_repeat_minutes * 60) < 1:  # Alertmanager's repeat_interval would be 0: no reminder
            raise ValueError(
                f"ALERT_REPEAT_MINUTES={self.alert_repeat_minutes:g} is under a second: Alertmanager's "
                "repeat_interval cannot take it (it would read 0s); use 1 or more"
            )
        if self.alert_slack_webhook_url is not None:
            problem = url_problem(self.alert_slack_webhook_url.get_secret_value())
            if problem:  # the URL is a secret: name the setting and the problem, never the value
                raise ValueError(f"ALERT_SLACK_WEBHOOK_URL {problem}")
        host = self.alert_smtp_host
        if host is not None and (_CONTROL.search(host) or " " in host.strip()):
            raise ValueError(f"ALERT_SMTP_HOST {host!r} is not a host name (a control character or a space)")
        if _CONTROL.search(self.alert_email_from):
            raise ValueError(f"ALERT_EMAIL_FROM {self.alert_email_from!r} contains a control character")
        for address in self.alert_email_to:
            if _CONTROL.search(address) or "@" not in address:
                raise ValueError(f"ALERT_EMAIL_TO entry {address!r} is not an email address")
        if self.alert_email_to and not self.alert_smtp_host:
            raise ValueError("ALERT_EMAIL_TO is set but ALERT_SMTP_HOST is not: emails could never be sent")
        if self.alert_smtp_host and not self.alert_email_to:
            raise ValueError("ALERT_SMTP_HOST is set but ALERT_EMAIL_TO is empty: say who gets the alerts")
        if (self.alert_smtp_user is None) != (self.alert_smtp_password is None):
            raise ValueError("ALERT_SMTP_USER and ALERT_SMTP_PASSWORD go together")
        return self

    @property
    def has_channel(self) -> bool:
        return bool(self.alert_smtp_host) or self.alert_slack_webhook_url is not None


NO_CHANNEL = "no alert channel configured: set ALERT_SMTP_HOST and ALERT_EMAIL_TO and/or ALERT_SLACK_WEBHOOK_URL"


class MonitorSettings(AlertChannelSettings):
    """Targets, timing and the alert channels; at least one channel, unless told otherwise."""

    monitor_targets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["predictor=http://127.0.0.1:8000/health/ready"],
        description="comma list of URLs, each optionally named: name=url",
    )
    monitor_config: Path | None = Field(
        None, description="YAML file of targets with conditions and bearer keys (see deploy/monitor/targets.yml)"
    )
    monitor_push_checks: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma list of name=PERIOD+GRACE, e.g. weekly-list=7d+6h"
    )
    monitor_degraded_ratio: float = Field(
        0.3, gt=0, le=1, description="this share of the last MONITOR_DEGRADED_WINDOW probes failing is DEGRADED"
    )
    monitor_degraded_window: int = Field(10, ge=2, description="probes judged for DEGRADED")
    monitor_admin_token: SecretStr | None = Field(
        None, description="bearer token for maintenance windows (and archived lists); unset: no one may pause"
    )
    monitor_lists_dir: Path | None = Field(
        None, description="the weekly list archive: the status page shows the latest, admins download it"
    )
    monitor_interval_seconds: float = Field(30.0, gt=0, description="seconds between probes of a settled target")
    monitor_timeout_seconds: float = Field(4.0, gt=0)
    monitor_confirm_probes: int = Field(2, ge=0, description="re-probes after a first failure before DOWN")
    monitor_confirm_interval_seconds: float = Field(2.0, gt=0, description="start to start")
    monitor_recovery_probes: int = Field(2, ge=1, description="consecutive successes before RECOVERED")
    monitor_startup_grace_seconds: float = Field(
        0.0, ge=0, description="after start, failures of a target never yet seen up are not alerted"
    )
    monitor_state_dir: Path = VAR_DIR / "monitor"
    monitor_host: str = "127.0.0.1"
    monitor_port: int = Field(9100, ge=0, le=65535)
    monitor_stuck_seconds: float = Field(
        60.0, gt=0, description="/health turns 503 when the loop made no progress this long (> timeout + 2)"
    )
    monitor_heartbeat_url: str | None = Field(
        None, description="pinged every MONITOR_HEARTBEAT_SECONDS; <url>/fail while an alert channel is failing"
    )
    monitor_push_token: SecretStr | None = Field(
        None, description="bearer token (or ?token=) for POST /ping/{name}; unset: every ping is refused"
    )
    monitor_heartbeat_seconds: float = Field(300.0, gt=0)
    alert_channel_failing_minutes: float = Field(
        5.0, gt=0, description="a channel failing this long is announced through the other channels"
    )
    alert_delivery_timeout_seconds: float = Field(10.0, gt=0)
    alert_delivery_attempts: int = Field(3, ge=1, description="quick attempts before slow retries")
    alert_retry_seconds: float = Field(30.0, gt=0, description="between slow retries of an undelivered alert")
    monitor_allow_no_channels: bool = Field(
        False, description="start even with no alert channel (a watchdog that can tell no one)"
    )
    monitor_log_level: LogLevel = "INFO"
    monitor_notice: str | None = Field(
        None, description="a line the status page and /status show first (what this deployment does not watch)"
    )

    _targets = field_validator("monitor_targets", "monitor_push_checks", mode="before")(_comma_list)
    _optional = field_validator(
        "monitor_heartbeat_url",
        "monitor_config",
        "monitor_admin_token",
        "monitor_lists_dir",
        "monitor_push_token",
        "monitor_notice",
        mode="before",
    )(_blank_is_unset)

    @model_validator(mode="after")
    def _coherent(self) -> MonitorSettings:
        if not self.monitor_targets:
            raise ValueError("MONITOR_TARGETS is empty: nothing to watch")
        for target in self.monitor_targets:
            url = target.partition("=")[2] if "=" in target else target
            problem = url_problem(url.strip())
            if problem:
                raise ValueError(f"MONITOR_TARGETS entry {target!r} {problem}")
        if self.monitor_heartbeat_url is not None and (problem := url_problem(self.monitor_heartbeat_url)):
            raise ValueError(f"MONITOR_HEARTBEAT_URL {problem}")
        for check in self.monitor_push_checks:
            PushCheck.parse(check)  # raises with the offending entry named
        if self.monitor_config is not None and not self.monitor_config.is_file():
            raise ValueError(f"MONITOR_CONFIG {self.monitor_config} is not a readable file")
        if not self.has_channel and not self.monitor_allow_no_channels:
            raise ValueError(f"{NO_CHANNEL} (or MONITOR_ALLOW_NO_CHANNELS=true to watch without telling anyone)")
        return self

    @property
    def failures_to_down(self) -> int:
        return 1 + self.monitor_confirm_probes
