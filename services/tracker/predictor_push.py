"""After a promotion or rollback, ask each predictor to reload now and report what each one serves."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.tracker.settings import TrackerSettings


@dataclass(frozen=True)
class PushResult:
    url: str
    serving: str | None  # the version the predictor serves after the reload, when it answered
    outcome: str  # the predictor's reload outcome, or "unreachable"
    detail: str

    def line(self) -> str:
        if self.serving is None:
            return f"predictor {self.url}: {self.outcome}: {self.detail}"
        return f"predictor {self.url}: serving version {self.serving} ({self.outcome})"


def push_reload(settings: TrackerSettings) -> list[PushResult]:
    """One POST /admin/reload per predictor; an unreachable one is named, the promotion still stands."""
    headers = {} if settings.api_key is None else {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
    results = []
    with httpx.Client(timeout=settings.push_timeout_seconds, headers=headers) as client:
        for url in settings.predictor_urls:
            results.append(_push_one(client, url))
    return results


def _push_one(client: httpx.Client, url: str) -> PushResult:
    try:
        answer = client.post(f"{url}/admin/reload")
    except httpx.HTTPError as error:
        return PushResult(url, None, "unreachable", f"{type(error).__name__}: {error}; it follows within its poll")
    try:
        body = answer.json()
    except ValueError:
        return PushResult(url, None, f"HTTP {answer.status_code}", answer.text[:200])
    serving = (body.get("serving") or {}).get("version")
    outcome = str(body.get("outcome") or body.get("error") or f"HTTP {answer.status_code}")
    detail = str(body.get("detail") or body.get("message") or "")
    return PushResult(url, None if serving is None else str(serving), outcome, detail)
