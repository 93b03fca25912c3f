"""`churnguard alertmanager`: Debian's Alertmanager, configured from the same ALERT_* settings as the watchdog.

Alertmanager does not expand variables, so its configuration is rendered at start into its data
directory (it holds secrets: never into the repository). Routing: every rule reaches email and Slack,
PredictorDown and PredictorNotReady included (a dead replica behind a load balancer is paged by them,
naming it), except while the watchdog pages the predictor service's outage itself: then its
WatchdogPagesPredictor (routed to no one) inhibits them, so one outage is one page per channel.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from services.common.paths import VAR_DIR
from services.monitor.settings import NO_CHANNEL, AlertChannelSettings

# Prometheus rules for an outage the watchdog may be announcing itself (one DOWN, one RECOVERED per channel):
# silenced while INHIBITOR, the rule that mirrors the watchdog's DOWN, is firing; paged otherwise.
PAGED_BY_THE_WATCHDOG = ("PredictorDown", "PredictorNotReady")
INHIBITOR = "WatchdogPagesPredictor"
SLACK_TEXT = (
    '{{ range .Alerts }}[churnguard] {{ if eq .Status "firing" }}FIRING{{ else }}RESOLVED{{ end }} '
    "{{ .Labels.alertname }}: {{ .Annotations.summary }}\n{{ .Annotations.runbook }}\n{{ end }}"
)


class AlertmanagerSettings(AlertChannelSettings):
    """ALERT_* (shared with the watchdog) plus where Alertmanager listens and keeps its data."""

    alertmanager_host: str = "127.0.0.1"
    alertmanager_port: int = Field(9093, ge=1, le=65535)
    alertmanager_data_dir: Path = VAR_DIR / "alertmanager"
    alertmanager_binary: str = Field("prometheus-alertmanager", description="Debian's name for the binary")
    alertmanager_group_wait_seconds: int = Field(10, ge=0, description="wait this long to batch a new alert group")


def render_config(settings: AlertChannelSettings, group_wait_seconds: int = 10) -> dict[str, Any]:
    """The alertmanager.yml for these channels (a dict, dumped as YAML by the caller)."""
    receiver: dict[str, Any] = {"name": "retention-oncall"}
    config: dict[str, Any] = {"global": {"resolve_timeout": "5m"}}
    if settings.alert_smtp_host:
        config["global"].update(
            {
                "smtp_smarthost": f"{settings.alert_smtp_host}:{settings.alert_smtp_port}",
                "smtp_from": settings.alert_email_from,
                "smtp_require_tls": settings.alert_smtp_starttls,
            }
        )
        if settings.alert_smtp_user and settings.alert_smtp_password:
            config["global"]["smtp_auth_username"] = settings.alert_smtp_user
            config["global"]["smtp_auth_password"] = settings.alert_smtp_password.get_secret_value()
        receiver["email_configs"] = [
            {
                "to": ", ".join(settings.alert_email_to),
                "send_resolved": True,
                "headers": {"Subject": "[churnguard] {{ .Status | toUpper }} {{ .CommonLabels.alertname }}"},
            }
        ]
    if settings.alert_slack_webhook_url is not None:
        receiver["slack_configs"] = [
            {
                "api_url": settings.alert_slack_webhook_url.get_secret_value(),
                "send_resolved": True,
                "title": "[churnguard] {{ .Status | toUpper }} {{ .CommonLabels.alertname }}",
                "text": SLACK_TEXT,
            }
        ]
    config["route"] = {
        "receiver": "retention-oncall",
        "group_by": ["alertname", "instance", "channel"],
        "group_wait": f"{group_wait_seconds}s",
        "group_interval": "1m",
        "repeat_interval": f"{round(settings.alert_repeat_minutes * 60)}s",  # 0.5 minutes is 30s, never 0m
        "routes": [{"matchers": [f'alertname="{INHIBITOR}"'], "receiver": "inhibition-only"}],
    }
    config["receivers"] = [receiver, {"name": "inhibition-only"}]
    config["inhibit_rules"] = [
        {
            # The watchdog already sent DOWN and will send RECOVERED for the service: no second page.
            "source_matchers": [f'alertname="{INHIBITOR}"'],
            "target_matchers": [f'alertname=~"{"|".join(PAGED_BY_THE_WATCHDOG)}"'],
        }
    ]
    return config


def write_config(settings: AlertmanagerSettings) -> Path:
    settings.alertmanager_data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.alertmanager_data_dir / "alertmanager.yml"
    partial = path.with_suffix(".tmp")
    partial.write_text(yaml.safe_dump(render_config(settings, settings.alertmanager_group_wait_seconds)))
    partial.chmod(0o600)  # it holds the SMTP password and the Slack webhook
    partial.replace(path)
    return path


def run_alertmanager() -> int:
    """Render the configuration, then become Alertmanager (exec: signals go straight to it)."""
    try:
        settings = AlertmanagerSettings()
    except ValidationError as error:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        print(f"alertmanager: invalid settings: {problems}", file=sys.stderr)
        return 2
    if not settings.has_channel:
        print(f"alertmanager: {NO_CHANNEL}", file=sys.stderr)
        return 2
    binary = shutil.which(settings.alertmanager_binary)
    if binary is None:
        print(
            f"alertmanager: {settings.alertmanager_binary} not found; install Debian's prometheus-alertmanager",
            file=sys.stderr,
        )
        return 2
    config = write_config(settings)
    os.execv(
        binary,
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={settings.alertmanager_data_dir / 'data'}",
            f"--web.listen-address={settings.alertmanager_host}:{settings.alertmanager_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
    )
    return 0  # not reached
