"""A settings object that does not validate is a clear start-up error naming each variable, not a traceback."""

from __future__ import annotations

from pydantic import ValidationError


def settings_problems(error: ValidationError, env_prefix: str = "") -> str:
    """One line: each problem with its environment variable (pydantic's own messages, such as a Literal's, do
    not name it; our validators' messages already do)."""
    problems = []
    for entry in error.errors():
        message = entry["msg"].removeprefix("Value error, ")
        field = "_".join(str(part) for part in entry["loc"]).upper()
        setting = f"{env_prefix}{field}" if field else ""
        problems.append(message if not setting or setting in message else f"{setting}: {message}")
    return "; ".join(problems)
