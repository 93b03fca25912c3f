"""The weekly list's facts: one model for the job that writes them and the watchdog that reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.weekly_list_facts import WeeklyListFacts

WRITTEN_BY_WAVE_TWO = """{
 "model_version": "3",
 "made_at": "2026-11-30T06:00:01+00:00",
 "customers_scored": 7043,
 "customers_listed": 500,
 "rows_rejected": 2,
 "iso_week": "2026-W49",
 "file": "2026-W49.csv",
 "rejected_file": "2026-W49.rejected.csv"
}"""


def test_facts_written_by_the_earlier_job_load_as_they_were() -> None:
    facts = WeeklyListFacts.model_validate_json(WRITTEN_BY_WAVE_TWO)
    assert facts.made_at == datetime(2026, 11, 30, 6, 0, 1, tzinfo=UTC) and facts.model_version == "3"
    assert WeeklyListFacts.model_validate_json(facts.to_json()) == facts


def test_a_newer_writer_s_extra_facts_do_not_break_the_reader() -> None:
    newer = WRITTEN_BY_WAVE_TWO.replace('"model_version"', '"challenger": "4", "model_version"')
    assert WeeklyListFacts.model_validate_json(newer).iso_week == "2026-W49"
