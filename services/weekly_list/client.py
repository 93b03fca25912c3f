"""`churnguard weekly-list`: score a customer CSV through the predictor and write the ranked call list."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from tqdm import tqdm

from services.common.customer import CustomerRecord, parse_csv_row

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNREACHABLE = 0, 2, 3
OUTPUT_COLUMNS = ("rank", "customerID", "churn_probability", "model_version", "prediction_id")


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


@dataclass(frozen=True)
class Row:
    line: int
    record: dict[str, Any]


def read_customers(path: Path) -> list[Row]:
    """Every row validated locally first, so one bad row is named instead of failing a whole batch."""
    rows: list[Row] = []
    problems: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for line, raw in enumerate(csv.DictReader(handle), start=2):
                record = parse_csv_row(raw)
                try:
                    CustomerRecord.model_validate(record)
                except ValidationError as error:
                    first = error.errors()[0]
                    field = ".".join(str(p) for p in first["loc"]) or "record"
                    problems.append(f"line {line}: {field}: {first['msg']}")
                    continue
                rows.append(Row(line, record))
    except OSError as error:
        raise WeeklyListError(f"cannot read {path}: {error.strerror}", EXIT_BAD_INPUT) from error
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WeeklyListError(f"{len(problems)} invalid rows in {path}:\n  {shown}{more}", EXIT_BAD_INPUT)
    if not rows:
        raise WeeklyListError(f"{path} holds no customers", EXIT_BAD_INPUT)
    return rows


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class PredictorClient:
    """Batches to /predict/batch, with plain-words errors for every way the call can fail."""

    def __init__(self, settings: WeeklyListSettings, url: str) -> None:
        self.settings = settings
        self.url = url.rstrip("/")
        headers = {"content-type": "application/json"}
        if settings.api_key is not None:
            headers["authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self.http = httpx.Client(headers=headers, timeout=settings.timeout_seconds)

    def score(self, batch: list[Row]) -> list[dict[str, Any]]:
        response = self._post({"customers": [row.record for row in batch]})
        if response.status_code == 200:
            return list(response.json()["predictions"])
        body = _json_or_text(response)
        if response.status_code == 422 and isinstance(body, dict):
            lines = [
                f"line {batch[d['index']].line}: {d.get('field')}: {d.get('msg')}"
                for d in body.get("detail", [])
                if isinstance(d.get("index"), int) and d["index"] < len(batch)
            ]
            raise WeeklyListError(
                "the predictor rejected rows:\n  " + "\n  ".join(lines or [str(body)]), EXIT_BAD_INPUT
            )
        message = body.get("message", body) if isinstance(body, dict) else body
        hint = {
            401: "set PREDICTOR_API_KEY to a key the predictor accepts",
            503: f"the predictor is up but cannot predict; see {self.url}/health/ready",
        }.get(response.status_code, "see the predictor's log")
        raise WeeklyListError(
            f"predictor answered HTTP {response.status_code}: {message}\n  what to do: {hint}", EXIT_UNREACHABLE
        )

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        first_failure: datetime | None = None
        for attempt in range(1, self.settings.connect_attempts + 1):
            try:
                return self.http.post(f"{self.url}/predict/batch", json=payload)
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


def rank(predictions: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    ordered = sorted(predictions, key=lambda p: (-p["churn_probability"], p["customerID"]))
    return [
        {
            "rank": position,
            "customerID": p["customerID"],
            "churn_probability": f"{p['churn_probability']:.6f}",
            "model_version": p["model"]["version"],
            "prediction_id": p["prediction_id"],
        }
        for position, p in enumerate(ordered[:top], start=1)
    ]


def write_list(path: Path, rows: list[dict[str, Any]]) -> None:
    """Written whole or not at all: a failed run never leaves a half list behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)


def run_weekly_list(input_path: Path, top: int, output: Path, url: str | None) -> int:
    settings = WeeklyListSettings()
    try:
        if top < 1:
            raise WeeklyListError("--top must be at least 1", EXIT_BAD_INPUT)
        rows = read_customers(input_path)
        client = PredictorClient(settings, url or settings.url)
        predictions: list[dict[str, Any]] = []
        with tqdm(total=len(rows), unit="customer", desc="scoring", file=sys.stderr) as progress:
            for batch in _chunks(rows, settings.batch_size):
                predictions.extend(client.score(batch))
                progress.update(len(batch))
        ranked = rank(predictions, top)
        write_list(output, ranked)
    except WeeklyListError as error:
        print(f"weekly-list: {error}", file=sys.stderr)
        return error.exit_code
    versions = sorted({row["model_version"] for row in ranked})
    print(f"wrote {len(ranked)} of {len(rows)} customers to {output} (model version {', '.join(versions)})")
    return EXIT_OK


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
