"""Persist target states and undelivered alerts (a JSON file, replaced atomically) across restarts."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from services.monitor.state import Alert, TargetState

log = logging.getLogger(__name__)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _with_times(raw: dict[str, Any], time_fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: (datetime.fromisoformat(v) if k in time_fields and v is not None else v) for k, v in raw.items()}


def state_to_json(state: TargetState) -> dict[str, Any]:
    return {k: _encode(v) for k, v in asdict(state).items()}


def state_from_json(raw: dict[str, Any]) -> TargetState:
    """Files written before a field existed load with its default."""
    times = _with_times(
        raw, ("down_since", "last_success", "last_alert_at", "degraded_since", "since", "watched_since")
    )
    return TargetState(**{**times, "recent": tuple(raw.get("recent", ()))})


def alert_to_json(alert: Alert) -> dict[str, Any]:
    return {k: _encode(v) for k, v in asdict(alert).items()}


def alert_from_json(raw: dict[str, Any]) -> Alert:
    return Alert(**_with_times(raw, ("at", "down_since", "last_success")))


class StateFile:
    """state.json in the monitor's data directory: {"targets": {...}, "outbox": [...]}."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "state.json"

    def load(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {"targets": {}, "outbox": []}
        except (OSError, ValueError) as error:
            # A corrupt file must not stop the watchdog; keep a copy for the post-mortem.
            log.error("state file unreadable; starting fresh", extra={"path": str(self.path), "error": str(error)})
            self.path.replace(self.path.with_suffix(".corrupt"))
            return {"targets": {}, "outbox": []}

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.path)
