"""Gatus-style conditions: parsed at start (a typo is a start-up error), judged on each answer."""

from __future__ import annotations

import re

import pytest

from services.monitor.conditions import Answer, Condition, ConditionError

MODEL = {"registry": {"matches": True, "target_version": "7"}, "replicas": [{"ready": True}], "status": "ready"}


@pytest.mark.parametrize(
    ("text", "answer", "failure"),
    [
        ("[STATUS] == 200", Answer(200, MODEL, 5), None),
        ("[STATUS] == 200", Answer(503, MODEL, 5), "[STATUS] == 200 (got 503)"),
        ("[BODY].registry.matches == true", Answer(200, MODEL, 5), None),
        (
            "[BODY].registry.matches == true",
            Answer(200, {"registry": {"matches": False}}, 5),
            "[BODY].registry.matches == true (got false)",
        ),
        ("[BODY].registry.matches == true", Answer(200, {}, 5), "[BODY].registry.matches == true (no such field)"),
        ("[BODY].registry.matches == true", Answer(200, None, 5), "[BODY].registry.matches == true (body is not JSON)"),
        ("[BODY].registry.target_version == 7", Answer(200, MODEL, 5), '[BODY].registry.target_version == 7 (got "7")'),
        ('[BODY].registry.target_version == "7"', Answer(200, MODEL, 5), None),
        ("[BODY].status == ready", Answer(200, MODEL, 5), None),
        ("[BODY].status != ready", Answer(200, MODEL, 5), '[BODY].status != ready (got "ready")'),
        ("[BODY].replicas[0].ready == true", Answer(200, MODEL, 5), None),
        ("[BODY].replicas[1].ready == true", Answer(200, MODEL, 5), "[BODY].replicas[1].ready == true (no such field)"),
        ("[RESPONSE_TIME] < 500", Answer(200, MODEL, 499.4), None),
        ("[RESPONSE_TIME] < 500", Answer(200, MODEL, 731.2), "[RESPONSE_TIME] < 500 (got 731)"),
        ("[BODY].status > 3", Answer(200, MODEL, 5), '[BODY].status > 3 (got "ready")'),
    ],
)
def test_conditions_judge_the_answer_and_name_what_they_found(text: str, answer: Answer, failure: str | None) -> None:
    assert Condition.parse(text).failure(answer) == failure


def test_a_number_does_not_equal_a_boolean() -> None:
    assert Condition.parse("[BODY].x == 1").failure(Answer(200, {"x": True}, 1)) is not None


@pytest.mark.parametrize(
    "text",
    ["STATUS == 200", "[STATUS] = 200", "[HEADERS].x == 1", "[STATUS].code == 200", "[RESPONSE_TIME] < fast", ""],
)
def test_unreadable_conditions_are_refused_at_parse_time(text: str) -> None:
    with pytest.raises(ConditionError):
        Condition.parse(text)


JOHN = {"name": "john.doe"}


@pytest.mark.parametrize(
    ("text", "answer", "holds"),
    [  # verdicts of Gatus's own condition tests (config/endpoint/condition_test.go) that apply here
        ("[BODY].name == pat(john*)", Answer(200, JOHN, 1), True),
        ("[BODY].name == pat(bob*)", Answer(200, JOHN, 1), False),
        ("[BODY].name != pat(bob*)", Answer(200, JOHN, 1), True),
        ("[BODY].name != pat(john*)", Answer(200, JOHN, 1), False),
        ("[BODY].data == pat(*Whatever*)", Answer(200, {"data": ["hello", "world", "Whatever"]}, 1), True),
        ("[STATUS] == pat(4*)", Answer(404, None, 1), True),
        ("[STATUS] == pat(4*)", Answer(200, None, 1), False),
        ("[BODY].name == any(john.doe, jane.doe)", Answer(200, JOHN, 1), True),
        ("[BODY].name == any(john.doe, jane.doe)", Answer(200, {"name": "jane.doe"}, 1), True),
        ("[BODY].name == any(john.doe, jane.doe)", Answer(200, {"name": "bob"}, 1), False),
        ("[STATUS] == any(200, 429)", Answer(200, None, 1), True),
        ("[STATUS] == any(200, 429)", Answer(429, None, 1), True),
        ("[STATUS] == any(200, 429)", Answer(404, None, 1), False),
        ("[STATUS] != any(200, 429)", Answer(404, None, 1), True),
    ],
)
def test_pat_and_any_are_understood_as_gatus_does(text: str, answer: Answer, holds: bool) -> None:
    """Found by judging Gatus's scenarios: pat() and any() were compared as their literal text, so
    `[STATUS] == any(200, 429)` was DOWN on a 429 and `[BODY].name != pat(bob*)` UP whatever the body."""
    assert (Condition.parse(text).failure(answer) is None) is holds


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[BODY].name == glob(john*)", "glob() is not understood"),
        ("[STATUS] == len(3)", "len() is not understood"),
        ("[RESPONSE_TIME] < any(1, 2)", "any() takes == or !=, not <"),
        ("[BODY].a != [BODY].b", "a placeholder on the right ([BODY].b) is not understood"),
    ],
)
def test_anything_that_looks_like_a_function_or_a_placeholder_is_refused_never_read_as_text(
    text: str, named: str
) -> None:
    with pytest.raises(ConditionError, match=re.escape(named)):
        Condition.parse(text)
