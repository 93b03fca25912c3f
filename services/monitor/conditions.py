"""Gatus's conditions on a probe's answer, judged as Gatus judges them (config/endpoint/condition.go).

Each side resolves to text: a placeholder (`[STATUS]`, `[RESPONSE_TIME]` in ms, `[BODY]` with a JSON path
or the body's text, `[CONNECTED]`, `[CERTIFICATE_EXPIRATION]` in ms, `[IP]`), `len()` or `has()` of one,
or a literal. `==` and `!=` compare integers when both sides read as one (hex, octal, binary, decimal),
else text; `pat()` globs and `any()` lists. `<` `<=` `>` `>=` compare numbers, durations (`1s`, `48h`) in
ms. Pure: parsed once at start, judged on each answer.

Stricter than Gatus where Gatus would judge something silently: anything the grammar does not know (an
unknown function or placeholder, a side with no placeholder at all, a literal that is not a number under
`<`) is refused at start, and a field that is missing, or a value that is not a number under `<`, fails
the condition whatever the operator. Nothing is ever compared as the literal text of a function or a
placeholder.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {  # in Gatus's order of detection
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    ">": operator.gt,
    "<": operator.lt,
}
PLACEHOLDERS = ("STATUS", "RESPONSE_TIME", "BODY", "CONNECTED", "CERTIFICATE_EXPIRATION", "IP")
DURATION_PLACEHOLDERS = ("CERTIFICATE_EXPIRATION",)  # shown as a duration in a failure message
INVALID = "(INVALID)"
_PLACEHOLDER = re.compile(r"^\[(?P<name>[A-Za-z_]+)\](?P<path>.*)$")
_FUNCTION = re.compile(r"^(?P<name>[A-Za-z_]\w*)\((?P<inner>.*)\)$", re.DOTALL)
_PATH = re.compile(r"^(?:\.[^.\[\]]+|\[\d+\])*$")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_DURATION = re.compile(r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
_TRUNCATE_BESIDE_PATTERN = 25


class ConditionError(ValueError):
    """A condition that cannot be understood: reported at start, never at probe time."""


@dataclass(frozen=True)
class Answer:
    """What a probe got back, as the conditions see it."""

    status: int
    body: str
    milliseconds: float
    connected: bool = True
    ip: str = ""
    certificate_seconds: float = 0.0  # until the server's certificate expires; 0 without TLS


@dataclass(frozen=True)
class Side:
    """One side of a condition: a placeholder (perhaps inside len() or has()), pat(), any(), or a literal."""

    text: str
    placeholder: str | None = None
    path: str = ""
    function: str | None = None  # len, has, pat or any
    argument: str = ""  # pat()'s glob, any()'s options

    @classmethod
    def parse(cls, text: str, condition: str) -> Side:
        function = _FUNCTION.match(text)
        if function is not None:
            name, inner = function["name"], function["inner"].strip()
            if name in ("pat", "any"):
                return cls(text, function=name, argument=inner)
            if name not in ("len", "has"):
                raise ConditionError(
                    f"condition {condition!r}: {name}() is not understood (known: len(), has(), pat(), any())"
                )
            inside = cls.parse(inner, condition)
            if inside.placeholder is None:
                raise ConditionError(f"condition {condition!r}: {name}() takes a placeholder, not {inner!r}")
            return cls(text, inside.placeholder, inside.path, name)
        found = _PLACEHOLDER.match(text)
        if found is None:
            if text.startswith("["):
                raise ConditionError(f"condition {condition!r}: {text!r} is not a placeholder Gatus knows")
            return cls(text)
        name, path = found["name"].upper(), found["path"]
        if name not in PLACEHOLDERS:
            known = ", ".join(f"[{p}]" for p in PLACEHOLDERS)
            raise ConditionError(f"condition {condition!r}: [{found['name']}] is not understood (known: {known})")
        if path and (name != "BODY" or not _PATH.match(path)):
            raise ConditionError(f"condition {condition!r}: {text!r} is not a placeholder Gatus knows")
        return cls(text, name, path)

    def resolve(self, answer: Answer) -> str:
        """This side's text for this answer; a placeholder that cannot be read ends in (INVALID)."""
        if self.placeholder is None:
            return self.text
        if self.placeholder == "BODY":
            return self._body(answer)
        value = {
            "STATUS": str(answer.status),
            "RESPONSE_TIME": str(int(answer.milliseconds)),
            "CONNECTED": "true" if answer.connected else "false",
            "CERTIFICATE_EXPIRATION": str(int(answer.certificate_seconds * 1000)),
            "IP": answer.ip,
        }[self.placeholder]
        if self.function == "has":
            return "true" if value else "false"
        return str(len(value.encode())) if self.function == "len" else value

    def _body(self, answer: Answer) -> str:
        if not self.path:
            body = answer.body.strip()
            if self.function == "has":
                return "true" if body else "false"
            if self.function == "len":
                parsed = _json(answer.body)
                return str(len(parsed) if isinstance(parsed, list) else len(answer.body.encode()))
            return body
        found = _walk(_json(answer.body), self.path)
        if self.function == "has":
            return "false" if found is None else "true"
        if found is None:
            return f"{self.text} {INVALID}"
        if self.function == "len":
            return str(len(found) if isinstance(found, list) else len(_go_text(found).encode()))
        return _go_text(found)


@dataclass(frozen=True)
class Condition:
    text: str
    left: Side
    op: str
    right: Side

    @classmethod
    def parse(cls, text: str) -> Condition:
        condition = text.strip()
        op = next((op for op in OPERATORS if f" {op} " in condition), None)
        parts = condition.split(f" {op} ") if op else []
        if op is None or len(parts) != 2 or not all(part.strip() for part in parts):
            raise ConditionError(
                f"condition {text!r} is not `<left> <op> <right>` with <op> one of == != < <= > >= between spaces"
            )
        left, right = (Side.parse(part.strip(), condition) for part in parts)
        if left.placeholder is None and right.placeholder is None:
            raise ConditionError(f"condition {text!r} reads no placeholder ([STATUS], [BODY], ...): it judges nothing")
        for side in (left, right):
            if op not in ("==", "!=") and side.function in ("pat", "any"):
                raise ConditionError(f"condition {text!r}: {side.function}() takes == or !=, not {op}")
            if op not in ("==", "!=") and side.placeholder is None and _number(side.text) is None:
                raise ConditionError(f"condition {text!r}: {op} needs a number or a duration, not {side.text!r}")
        return cls(condition, left, op, right)

    @property
    def on_content(self) -> bool:
        """Judges what was served (body, certificate, address), not whether it answered: its break is what
        the target's `meaning` says."""
        return bool({"BODY", "CERTIFICATE_EXPIRATION", "IP"} & {self.left.placeholder, self.right.placeholder})

    def failure(self, answer: Answer) -> str | None:
        """None when the answer meets the condition; otherwise the condition with the values found, as Gatus
        shows it: `[STATUS] (500) == 200`."""
        values = [self.left.resolve(answer), self.right.resolve(answer)]
        invalid = any(value.endswith(f" {INVALID}") for value in values)
        if self.op in ("==", "!="):
            holds = not invalid and _equal(self.left, values[0], self.right, values[1]) == (self.op == "==")
            return None if holds else self._shown(values)
        first, second = _number(values[0]), _number(values[1])
        if invalid or first is None or second is None:
            return self._shown(values)
        if OPERATORS[self.op](first, second):
            return None
        return self._shown([self._as_shown(self.left, first), self._as_shown(self.right, second)])

    def _shown(self, values: list[str]) -> str:
        sides = []
        for side, value, other in ((self.left, values[0], self.right), (self.right, values[1], self.left)):
            if other.function == "pat" and len(value) > _TRUNCATE_BESIDE_PATTERN:
                value = f"{value[:_TRUNCATE_BESIDE_PATTERN]}...(truncated)"
            if value.endswith(f" {INVALID}") or value == side.text:
                sides.append(value)
            else:
                sides.append(f"{side.text} ({value})")
        return f"{sides[0]} {self.op} {sides[1]}"

    @staticmethod
    def _as_shown(side: Side, number: int) -> str:
        duration = side.placeholder in DURATION_PLACEHOLDERS or _DURATION.match(side.text) is not None
        return _format_duration(number) if duration else str(number)


def failures(conditions: tuple[Condition, ...], answer: Answer) -> list[Condition]:
    return [condition for condition in conditions if condition.failure(answer) is not None]


def _equal(left: Side, first: str, right: Side, second: str) -> bool:
    """Gatus's isEqual: a pattern or a list of options on one side; else integers when both read as one
    (ParseInt with base 0); else the same text."""
    for function, value, other in (
        (left.function, left.argument, second),
        (right.function, right.argument, first),
    ):
        if function == "pat":
            return value == "*" or fnmatchcase(other.replace("/", ""), value.replace("/", ""))
        if function == "any":
            return other in (option.strip() for option in value.split(","))
    first_int, second_int = _integer(first), _integer(second)
    if first_int is not None and second_int is not None:
        return first_int == second_int
    return first == second


def _integer(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64): 0x, 0o, 0b prefixes, and a leading 0 for octal."""
    if re.fullmatch(r"[+-]?0[0-7_]+", text):
        text = text.replace("0", "0o", 1) if text[0] == "0" else text[0] + "0o" + text[2:]
    if not re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)", text):
        return None
    try:
        value = int(text, 0)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None


def _number(text: str) -> int | None:
    """Gatus's numeric reading: a non-zero duration in ms, an integer (any base), or a float truncated;
    None (where Gatus would read 0) for anything else."""
    if _DURATION.match(text):
        milliseconds = sum(float(amount) * _UNIT_MS[unit] for amount, unit in _DURATION_PART.findall(text))
        if milliseconds:
            return int(-milliseconds if text.startswith("-") else milliseconds)
    integer = _integer(text)
    if integer is not None:
        return integer
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and not text.strip().lower().startswith(("nan", "inf")) else None


def _format_duration(milliseconds: int) -> str:
    """Go's Duration.String() truncated to the second, zero units dropped: 24h, 1h30m, 45s, 10s (Gatus's own
    trimming turns 10s into "1": not copied)."""
    seconds = int(milliseconds / 1000)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    units = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    while len(units) > 1 and units[0][0] == 0:  # leading zero units go (as in Go) ...
        units.pop(0)
    while len(units) > 1 and units[-1][0] == 0:  # ... and, as Gatus shows them, trailing ones too
        units.pop()
    return sign + "".join(f"{amount}{unit}" for amount, unit in units)


def _json(body: str) -> Any:
    """The body parsed as JSON (whatever its Content-Type), or None."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def _walk(value: Any, path: str) -> Any:
    """The value at `.a.b[0]` (None when absent, null, or the body is not JSON)."""
    for key, index in _STEP.findall(path):
        if key and isinstance(value, dict):
            value = value.get(key)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _go_text(value: Any) -> str:
    """A JSON value as Gatus prints it: strings as they are, objects as compact JSON, arrays as Go's
    `[a b c]`, integral numbers without a decimal point."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + " ".join(_go_element(item) for item in value) + "]"
    return str(value)


def _go_element(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_element(v)}" for k, v in sorted(value.items())) + "]"
    return "<nil>" if value is None else _go_text(value)
