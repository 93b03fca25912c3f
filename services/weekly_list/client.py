"""`churnguard weekly-list`: score a customer export through the predictor (HTTP) and write the ranked list.

A thin client: no ML stack. Building the list (reading, skipping bad rows, ranking, writing) is shared
with the predictor's page and the scheduled job (building.py)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tqdm import tqdm

from services.weekly_list.building import REASONS, InvalidRows, ListError, Scored, build, write

EXIT_OK, EXIT_INVALID_ROWS, EXIT_BAD_INPUT, EXIT_UNREACHABLE = 0, 1, 2, 3


class WeeklyListSettings(BaseSettings):
    """Where the predictor is and how to talk to it (PREDICTOR_URL, PREDICTOR_API_KEY, ...)."""

    model_config = SettingsConfigDict(env_prefix="PREDICTOR_", extra="ignore")
    url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None
    batch_size: int = Field(1000, ge=1, le=10_000)
    timeout_seconds: float = Field(60.0, gt=0)
    connect_attempts: int = Field(3, ge=1)


class WeeklyListError(Exception):
    """A problem explained for the person running the command; `exit_code` says which kind."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class PredictorClient:
    """Batches to /predict/batch, with plain-words errors for every way the call can fail."""

    def __init__(self, settings: WeeklyListSettings, url: str) -> None:
        self.settings = settings
        self.url = url.rstrip("/")
        headers = {"content-type": "application/json"}
        if settings.api_key is not None:
            headers["authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self.http = httpx.Client(headers=headers, timeout=settings.timeout_seconds)

    def score(self, batch: list[dict[str, Any]]) -> Scored:
        response = self._post({"customers": batch})
        if response.status_code == 200:
            answer = response.json()
            # httpx's response and its bound stream refer to each other: left alone, each ~1 MB answer waits
            # for the cyclic collector, and a 100,000-customer list grows by 30 MB. Break the cycle now.
            response.stream = httpx.ByteStream(b"")
            return Scored(str(answer["model"]["version"]), answer["predictions"])
        body = _json_or_text(response)
        if response.status_code == 422 and isinstance(body, dict):
            # Rows were checked here first: the predictor's rules differ (an older or newer schema).
            details = [f"{d.get('field')}: {d.get('msg')}" for d in body.get("detail", [])][:5]
            raise WeeklyListError(
                "the predictor rejected rows this client accepted (different versions?):\n  " + "\n  ".join(details),
                EXIT_BAD_INPUT,
            )
        message = body.get("message", body) if isinstance(body, dict) else body
        hint = {
            401: "set PREDICTOR_API_KEY to a key the predictor accepts",
            503: f"the predictor is up but cannot predict; see {self.url}/health/ready",
        }.get(response.status_code, "see the predictor's log")
        raise WeeklyListError(
            f"predictor answered HTTP {response.status_code}: {message}\n  what to do: {hint}", EXIT_UNREACHABLE
        )

    def challenger(self) -> str | None:
        """The version the predictor's shadow lane scores with (GET /model), for the list's facts; None when
        none is set or the predictor cannot say (the list does not depend on it)."""
        try:
            answer = self.http.get(f"{self.url}/model")
            found = answer.json().get("challenger") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return None if not isinstance(found, dict) or found.get("version") is None else str(found["version"])

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        first_failure: datetime | None = None
        for attempt in range(1, self.settings.connect_attempts + 1):
            try:
                return self.http.post(f"{self.url}/predict/batch", params={"reasons": REASONS}, json=payload)
            except httpx.TransportError as error:
                first_failure = first_failure or datetime.now(UTC)
                if attempt == self.settings.connect_attempts:
                    raise WeeklyListError(self._unreachable(error, first_failure, attempt), EXIT_UNREACHABLE) from None
                time.sleep(min(2.0**attempt, 10.0))
        raise AssertionError("unreachable")

    def _unreachable(self, error: httpx.TransportError, since: datetime, attempts: int) -> str:
        reason = {
            httpx.ConnectError: "connection refused or host not found",
            httpx.ConnectTimeout: "connection timed out",
            httpx.ReadTimeout: f"no answer within {self.settings.timeout_seconds:g} s",
        }.get(type(error), type(error).__name__)
        return (
            f"cannot reach the predictor at {self.url} ({reason}); failing since "
            f"{since.strftime('%Y-%m-%d %H:%M:%S')} UTC, {attempts} attempts.\n"
            f"  what to do: check it is running (`make up`, or `churnguard serve`), that "
            f"`curl {self.url}/health/ready` answers, or pass --url with the right address."
        )


def run_weekly_list(input_path: Path, top: int, output: Path, url: str | None, strict: bool = False) -> int:
    """Exit 0 with a list (skipped rows in `<stem>.rejected.csv`); 1 with --strict and invalid rows;
    2 for unusable input; 3 when the predictor cannot score."""
    settings = WeeklyListSettings()
    client = PredictorClient(settings, url or settings.url)
    started = time.monotonic()
    try:
        with tqdm(unit="customer", desc="scoring", file=sys.stderr) as progress:

            def score(batch: list[dict[str, Any]]) -> Scored:
                scored = client.score(batch)
                progress.update(len(batch))
                return scored

            result = build(input_path, top, score, settings.batch_size, strict)
        written = write(result, output)
    except WeeklyListError as error:
        print(f"weekly-list: {error}", file=sys.stderr)
        return error.exit_code
    except ListError as error:
        print(f"weekly-list: {error}", file=sys.stderr)
        return EXIT_INVALID_ROWS if isinstance(error, InvalidRows) else EXIT_BAD_INPUT
    print(
        f"wrote {len(result.rows)} of {result.scored} customers to {output} (model version {result.version}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    if result.rejected:
        print(f"skipped {len(result.rejected)} invalid rows: see {written[1]} (line, field, rule)")
    return EXIT_OK


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
