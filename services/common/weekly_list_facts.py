"""The facts of one archived weekly list (`2026-W48.json` beside the list): written by the list job, read by
the watchdog's status page. One typed model on both sides of the wall; files of earlier versions load."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class WeeklyListFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # a newer writer's extra facts never break a reader

    model_version: str
    made_at: datetime
    customers_scored: int
    customers_listed: int
    rows_rejected: int = 0
    iso_week: str
    file: str | None = None  # the list's file name in the archive
    rejected_file: str | None = None
    challenger: str | None = None  # a shadow lane's version while the list was made (it never ranks the list)

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)
