"""Alert channels behind one interface: email (SMTP) and Slack (incoming webhook).

Each send has a timeout; failures raise DeliveryError saying whether a retry can help. A send that reached
some recipients but not all returns the refused ones (it is not retried: the others have it).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

import httpx

from services.monitor.messages import details, subject
from services.monitor.settings import MonitorSettings
from services.monitor.state import Alert


class DeliveryError(Exception):
    """A failed delivery; `permanent` ones (bad webhook, rejected recipient) are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> tuple[str, ...]:
        """Deliver; return the recipients refused while others were reached (empty: all reached)."""
        ...


class EmailNotifier:
    name = "email"

    def __init__(self, settings: MonitorSettings) -> None:
        assert settings.alert_smtp_host is not None
        self.settings = settings
        self.host = settings.alert_smtp_host

    def send(self, alert: Alert) -> tuple[str, ...]:
        message = EmailMessage()
        message["Subject"] = subject(alert)
        message["From"] = self.settings.alert_email_from
        message["To"] = ", ".join(self.settings.alert_email_to)
        message.set_content("\n".join(details(alert)) + "\n")
        settings = self.settings
        try:
            with smtplib.SMTP(
                self.host, settings.alert_smtp_port, timeout=settings.alert_delivery_timeout_seconds
            ) as smtp:
                if settings.alert_smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.alert_smtp_user and settings.alert_smtp_password:
                    smtp.login(settings.alert_smtp_user, settings.alert_smtp_password.get_secret_value())
                # smtplib raises only when every recipient is refused; the others come back here.
                refused = smtp.send_message(message)
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
            raise DeliveryError(f"SMTP refused: {error}", permanent=True) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP {self.host}:{settings.alert_smtp_port} failed: {error}") from error
        return tuple(f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items())


class SlackNotifier:
    name = "slack"

    def __init__(self, settings: MonitorSettings) -> None:
        assert settings.alert_slack_webhook_url is not None
        self.url = settings.alert_slack_webhook_url.get_secret_value()
        self.timeout = settings.alert_delivery_timeout_seconds

    def send(self, alert: Alert) -> tuple[str, ...]:
        title = subject(alert)
        payload = {
            "text": title,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(details(alert))}},
            ],
        }
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise DeliveryError(f"Slack webhook unreachable: {type(error).__name__}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"Slack answered HTTP {response.status_code}")
        if response.status_code >= 400:
            # Wrong or revoked webhook: retrying cannot help; an operator must fix the setting.
            raise DeliveryError(f"Slack answered HTTP {response.status_code}: {response.text[:100]}", permanent=True)
        return ()


def describe(error: BaseException) -> str:
    """A DeliveryError says itself; anything else (a bug, httpx.InvalidURL) is named by its type too."""
    return str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"[:300]


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()[:120]


def configured_notifiers(settings: MonitorSettings) -> list[Notifier]:
    notifiers: list[Notifier] = []
    if settings.alert_smtp_host:
        notifiers.append(EmailNotifier(settings))
    if settings.alert_slack_webhook_url is not None:
        notifiers.append(SlackNotifier(settings))
    return notifiers
