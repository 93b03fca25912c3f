"""`churnguard weekly-list-job`: the list waits for the retention team on Monday morning.

On WEEKLY_LIST_SCHEDULE (cron syntax, default Monday 06:00 UTC) it builds the list from WEEKLY_LIST_INPUT
into the archive, one file per ISO week (`2026-W48.csv`) with its facts beside it (`2026-W48.json`:
model version, time, counts), then pings the watchdog's push check; a failed run pings `/fail` with
the reason. A run that never happens is caught by the push check's deadline. `--once` runs now (cron).
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cronsim import CronSim, CronSimError
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.paths import VAR_DIR
from services.weekly_list.building import ListError, build, write
from services.weekly_list.client import PredictorClient, WeeklyListError, WeeklyListSettings

log = logging.getLogger(__name__)


class WeeklyListJobSettings(BaseSettings):
    """WEEKLY_LIST_*: what to list, when, where to keep it, whom to tell."""

    model_config = SettingsConfigDict(env_prefix="WEEKLY_LIST_", extra="ignore")
    schedule: str = Field("0 6 * * 1", description="cron syntax, UTC")
    input: Path = Field(VAR_DIR / "exports" / "customers.csv", description="the customer export (.csv or .xlsx)")
    top: int = Field(500, ge=1)
    archive_dir: Path = VAR_DIR / "weekly-lists"
    ping_url: str | None = Field(
        None, description="the watchdog's push check, e.g. http://monitor:9100/ping/weekly-list"
    )
    push_token: SecretStr | None = Field(None, description="the watchdog's MONITOR_PUSH_TOKEN, sent as a bearer")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            CronSim(value, datetime.now(UTC))
        except CronSimError as error:
            raise ValueError(f"WEEKLY_LIST_SCHEDULE {value!r} is not cron syntax: {error}") from error
        return value

    @field_validator("ping_url", "push_token", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def run_once(job: WeeklyListJobSettings, client_settings: WeeklyListSettings) -> bool:
    """Build this week's list into the archive and tell the watchdog; True when the list was made."""
    client = PredictorClient(client_settings, client_settings.url)
    try:
        result = build(job.input, job.top, client.score, client_settings.batch_size)
        stem = job.archive_dir / week_of(result.made_at)
        written = write(result, stem.with_suffix(".csv"))
        facts = result.facts(week_of(result.made_at), written, client.challenger())
        partial = stem.with_suffix(".json.partial")
        partial.write_text(facts.to_json(), encoding="utf-8")
        partial.replace(stem.with_suffix(".json"))
    except (ListError, WeeklyListError, OSError) as error:
        log.error("weekly list failed", extra={"error": str(error)})
        print(f"weekly-list-job: failed: {error}", file=sys.stderr)
        _ping(job, ok=False, note=str(error).splitlines()[0][:200])
        return False
    print(
        f"weekly-list-job: {facts.iso_week}: {facts.customers_listed} of {facts.customers_scored} "
        f"customers, model version {facts.model_version} -> {written[0]}"
    )
    _ping(job, ok=True, note="")
    return True


def _ping(job: WeeklyListJobSettings, ok: bool, note: str) -> None:
    if job.ping_url is None:
        return
    url = job.ping_url.rstrip("/") + ("" if ok else "/fail")
    try:
        token = job.push_token
        headers = {} if token is None else {"Authorization": f"Bearer {token.get_secret_value()}"}
        httpx.post(url, content=note.encode(), headers=headers, timeout=10).raise_for_status()
    except httpx.HTTPError as error:
        # The push check's deadline still catches a run whose ping was lost.
        print(f"weekly-list-job: could not ping {url}: {error}", file=sys.stderr)


def run_job(once: bool) -> int:
    job, client_settings = WeeklyListJobSettings(), WeeklyListSettings()
    if once:
        return 0 if run_once(job, client_settings) else 1
    while True:
        due = next(CronSim(job.schedule, datetime.now(UTC)))
        print(f"weekly-list-job: next list at {due.isoformat()}", file=sys.stderr)
        while (wait := (due - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(wait, 60))
        run_once(job, client_settings)
