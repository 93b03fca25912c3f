"""The latest archived weekly list (MONITOR_LISTS_DIR), for the status page: its facts for everyone,
its file only for holders of MONITOR_ADMIN_TOKEN (it is customer data)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from services.common.weekly_list_facts import WeeklyListFacts

MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def latest_facts(archive: Path) -> WeeklyListFacts | None:
    """The newest week's facts (`2026-W48.json`: model version, time, counts), skipping unreadable ones."""
    for facts in sorted(archive.glob("*-W*.json"), reverse=True):
        try:
            return WeeklyListFacts.model_validate_json(facts.read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError):
            continue
    return None


def latest_file(archive: Path) -> Path | None:
    facts = latest_facts(archive)
    if facts is None or not facts.file:
        return None
    path = archive / Path(facts.file).name  # a name, never a path out of the archive
    return path if path.is_file() and path.suffix in MEDIA_TYPES else None
