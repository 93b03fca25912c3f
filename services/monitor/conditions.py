"""Gatus-style conditions on a probe's answer: `[STATUS] == 200`, `[BODY].registry.matches == true`,
`[RESPONSE_TIME] < 500` (milliseconds), `[STATUS] == any(200, 429)`, `[BODY].name == pat(bob*)`. Pure:
parsed once at start, judged on each answer. A value that looks like a function this module does not
know is refused at start, never compared as its literal text.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

_SYNTAX = re.compile(
    r"^\s*\[(?P<subject>STATUS|BODY|RESPONSE_TIME)\](?P<path>(?:\.[^.\s\[\]=!<>]+|\[\d+\])*)"
    r"\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<expected>.+?)\s*$"
)
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()
_PLACEHOLDER = re.compile(r"^\[[A-Z_]+\]")
_FUNCTION = re.compile(r"^(?P<name>[A-Za-z_]\w*)\((?P<argument>.*)\)$")


@dataclass(frozen=True)
class Pattern:
    """`pat(...)`: Gatus's glob (`*` any run, `?` one character, `[...]` a class), on the value's text."""

    glob: str

    def matches(self, text: str) -> bool:
        return self.glob == "*" or fnmatchcase(text.replace("/", ""), self.glob.replace("/", ""))


@dataclass(frozen=True)
class AnyOf:
    """`any(a, b, ...)`: the value's text is one of these (each trimmed), as Gatus compares them."""

    options: tuple[str, ...]


class ConditionError(ValueError):
    """A condition that cannot be understood: reported at start, never at probe time."""


@dataclass(frozen=True)
class Answer:
    """What a probe got back, as the conditions see it."""

    status: int
    body: Any  # the decoded JSON, or None when the body is not JSON
    milliseconds: float


@dataclass(frozen=True)
class Condition:
    text: str
    subject: str  # STATUS, BODY or RESPONSE_TIME
    path: tuple[str | int, ...]  # into the JSON body
    op: str
    expected: Any

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _SYNTAX.match(text)
        if match is None:
            raise ConditionError(
                f"condition {text!r} is not `[STATUS]|[BODY].path|[RESPONSE_TIME] <op> value` "
                "with <op> one of == != < <= > >="
            )
        subject, op = match["subject"], match["op"]
        path = tuple(key if key else int(index) for key, index in _STEP.findall(match["path"]))
        if path and subject != "BODY":
            raise ConditionError(f"condition {text!r}: only [BODY] takes a path")
        expected = _value(text, op, match["expected"].strip())
        if op in _ORDERING and not _is_number(expected):
            raise ConditionError(f"condition {text!r}: {op} needs a number")
        return cls(text.strip(), subject, path, op, expected)

    @property
    def on_body(self) -> bool:
        return self.subject == "BODY"

    def failure(self, answer: Answer) -> str | None:
        """None when the answer meets the condition; otherwise the condition and what was found."""
        if self.subject == "STATUS":
            actual: Any = answer.status
        elif self.subject == "RESPONSE_TIME":
            actual = round(answer.milliseconds)
        elif answer.body is None:
            return f"{self.text} (body is not JSON)"
        else:
            actual = _lookup(answer.body, self.path)
            if actual is _MISSING:
                return f"{self.text} (no such field)"
        return None if self._holds(actual) else f"{self.text} (got {json.dumps(actual)})"

    def _holds(self, actual: Any) -> bool:
        if self.op in _ORDERING:
            return _is_number(actual) and _ORDERING[self.op](actual, self.expected)
        if isinstance(self.expected, Pattern):
            equal = self.expected.matches(_text(actual))
        elif isinstance(self.expected, AnyOf):
            equal = _text(actual) in self.expected.options
        else:
            equal = _equal(actual, self.expected)
        return equal if self.op == "==" else not equal


def failures(conditions: tuple[Condition, ...], answer: Answer) -> list[Condition]:
    return [condition for condition in conditions if condition.failure(answer) is not None]


def _value(condition: str, op: str, text: str) -> Any:
    """The right-hand side: pat() or any() (with == or != only), else a literal. Anything else that looks
    like a function or a placeholder stops the watchdog at start: it must never be compared as text."""
    function = _FUNCTION.match(text)
    if function is not None:
        name, argument = function["name"], function["argument"]
        if name not in ("pat", "any"):
            raise ConditionError(f"condition {condition!r}: {name}() is not understood (known: pat(), any())")
        if op not in ("==", "!="):
            raise ConditionError(f"condition {condition!r}: {name}() takes == or !=, not {op}")
        return Pattern(argument) if name == "pat" else AnyOf(tuple(option.strip() for option in argument.split(",")))
    if _PLACEHOLDER.match(text):
        raise ConditionError(f"condition {condition!r}: a placeholder on the right ({text}) is not understood")
    return _literal(text)


def _text(value: Any) -> str:
    """A found value as Gatus reads it: strings as they are, everything else as its JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def _literal(text: str) -> Any:
    """JSON literals (true, 200, "quoted", null) as such; anything else is a bare string, as in Gatus."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if isinstance(expected, str) and not isinstance(actual, dict | list) and actual is not None:
        return str(actual) == expected
    return bool(actual == expected)


def _lookup(body: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(step, int) and isinstance(body, list) and step < len(body):
            body = body[step]
        elif isinstance(step, str) and isinstance(body, dict) and step in body:
            body = body[step]
        else:
            return _MISSING
    return body
