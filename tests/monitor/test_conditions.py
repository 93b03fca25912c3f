"""Gatus's conditions: parsed at start (anything unknown is a start-up error), judged on each answer as
Gatus judges them. The scenarios are the verdicts and messages of Gatus's own condition tests
(config/endpoint/condition_test.go), restated here."""

from __future__ import annotations

import re

import pytest

from services.monitor.conditions import Answer, Condition, ConditionError

HOUR, DAY = 3600.0, 86400.0
JOHN = '{"name": "john.doe"}'
HTML = (
    '<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />'
    '</head><body><div id="user">{}</div></body></html>'
)
ARTICLE = '{"article": {"id": 123, "title": "Hello, world!", "tags": ["hello", "world"]}}'


def answer(
    status: int = 200, body: str = "", ms: float = 0, connected: bool = True, ip: str = "", cert: float = 0
) -> Answer:
    return Answer(status, body, ms, connected, ip, cert)


GATUS = [  # (condition, answer, None when it holds, else the message Gatus shows)
    ("[IP] == 127.0.0.1", answer(ip="127.0.0.1"), None),
    ("[STATUS] == 200", answer(200), None),
    ("[STATUS] == 200", answer(500), "[STATUS] (500) == 200"),
    ("[STATUS] < 300", answer(201), None),
    ("[STATUS] < 300", answer(404), "[STATUS] (404) < 300"),
    ("[RESPONSE_TIME] < 500", answer(ms=50), None),
    ("[RESPONSE_TIME] < 1s", answer(ms=50), None),
    ("[RESPONSE_TIME] > 500", answer(ms=750), None),
    ("[RESPONSE_TIME] > 1s", answer(ms=2000), None),
    ("[RESPONSE_TIME] >= 500", answer(ms=500), None),
    ("[RESPONSE_TIME] >= 500", answer(ms=499), "[RESPONSE_TIME] (499) >= 500"),
    ("[RESPONSE_TIME] <= 500", answer(ms=500), None),
    ("[RESPONSE_TIME] <= 500", answer(ms=25), None),
    ("[RESPONSE_TIME] <= 500", answer(ms=750), "[RESPONSE_TIME] (750) <= 500"),
    ("[BODY] == test", answer(body="test"), None),
    ("[BODY].status == UP", answer(body='{"status":"UP"}'), None),
    ("[BODY] == 123", answer(body="123"), None),
    ("[BODY] < 124", answer(body="123"), None),
    ("[BODY] > 122", answer(body="123"), None),
    ("[BODY] > 123", answer(body="100"), "[BODY] (100) > 123"),
    ("[BODY].data.name == john", answer(body='{"data": {"id": 1, "name": "john"}}'), None),
    ("[BODY].data.name == john", answer(body='{"data": {"id": 1}}'), "[BODY].data.name (INVALID) == john"),
    ("len([BODY].data.name) == john", answer(body='{"data": {"id": 1}}'), "len([BODY].data.name) (INVALID) == john"),
    (
        "[BODY].user.firstName != [BODY].user.lastName",
        answer(body='{"user": {"firstName": "john", "lastName": "doe"}}'),
        None,
    ),
    (
        "[BODY].user.firstName == [BODY].user.lastName",
        answer(body='{"user": {"firstName": "john", "lastName": "doe"}}'),
        "[BODY].user.firstName (john) == [BODY].user.lastName (doe)",
    ),
    ("[BODY][0].id == 1", answer(body='[{"id": 1}, {"id": 2}]'), None),
    ("[BODY].data == OK", answer(body='{"data": null}"'), "[BODY].data (INVALID) == OK"),
    ("[BODY].items[0] == OK", answer(body='{"items": [null, null]}"'), "[BODY].items[0] (INVALID) == OK"),
    ("[BODY].data == OK", answer(body="null"), "[BODY].data (INVALID) == OK"),
    (
        "[BODY][0].name == test",
        answer(body='{"statusCode": 500, "message": "Internal Server Error"}'),
        "[BODY][0].name (INVALID) == test",
    ),
    ("[BODY].data.id == 1", answer(body='{"data": {"id": 1}}'), None),
    ("[BODY].data[1].id == 2", answer(body='{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}'), None),
    ("[BODY].data.id > 0", answer(body='{"data": {"id": 1}}'), None),
    ("[BODY].data > 0", answer(body='{"data": "0x1"}'), None),
    ("[BODY].data == 1", answer(body='{"data": "0x1"}'), None),
    ("[BODY].data == 0x1", answer(body='{"data": "0x1"}'), None),
    ("[BODY].data == 2", answer(body='{"data": "0x2"}'), None),
    ("[BODY].data == 15", answer(body='{"data": "0xF"}'), None),
    ("[BODY].data == 12648243", answer(body='{"data": "0xC0ff33"}'), None),
    ("len([BODY].data) == 3", answer(body='{"data": "0x1"}'), None),
    ("[BODY].data >= 1", answer(body='{"data": "0x01"}'), None),
    ("len([BODY].data) == 4", answer(body='{"data": "0x01"}'), None),
    ("[BODY].data > 0", answer(body='{"data": "0o1"}'), None),
    ("[BODY].data == 2", answer(body='{"data": "0o2"}'), None),
    ("[BODY].data == 0o2", answer(body='{"data": "0o2"}'), None),
    ("[BODY].data > 0", answer(body='{"data": "0b1"}'), None),
    ("[BODY].data == 2", answer(body='{"data": "0b0010"}'), None),
    ("[BODY].data == 0b10", answer(body='{"data": "0b0010"}'), None),
    ("[BODY].data.id > 5", answer(body='{"data": {"id": 1}}'), "[BODY].data.id (1) > 5"),
    ("[BODY].balance > 100", answer(body='{"balance": "123.40000000000005"}'), None),
    ("[BODY].data.id < 5", answer(body='{"data": {"id": 2}}'), None),
    ("[BODY].data.id < 5", answer(body='{"data": {"id": 10}}'), "[BODY].data.id (10) < 5"),
    ("[CONNECTED] == true", answer(connected=True), None),
    ("[CONNECTED] == true", answer(connected=False), "[CONNECTED] (false) == true"),
    ("[CERTIFICATE_EXPIRATION] == 0", answer(), None),
    ("[CERTIFICATE_EXPIRATION] > 2419200000", answer(cert=60 * DAY), None),
    ("[CERTIFICATE_EXPIRATION] > 2419200000", answer(cert=14 * DAY), "[CERTIFICATE_EXPIRATION] (336h) > 2419200000"),
    ("[CERTIFICATE_EXPIRATION] > 12h", answer(cert=24 * HOUR), None),
    ("[CERTIFICATE_EXPIRATION] > 48h", answer(cert=24 * HOUR), "[CERTIFICATE_EXPIRATION] (24h) > 48h"),
    ("len([BODY].data.name) == 4", answer(body='{"data": {"name": "john"}}'), None),
    ("len([BODY]) == 3", answer(body='[{"id": 1}, {"id": 2}, {"id": 3}]'), None),
    ("len([BODY].data) == 3", answer(body='{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}'), None),
    ("len([BODY].data) == 8", answer(body='{"name": "john.doe"}'), "len([BODY].data) (INVALID) == 8"),
    ("len([BODY]) == 8", answer(body="john.doe"), None),
    ("len([BODY].name) == 8", answer(body='{"name": "john.doe"}'), None),
    ("len([BODY].age) == 2", answer(body='{"age":18}'), None),
    ("len([BODY].adult) == 4", answer(body='{"adult":true}'), None),
    ("len([BODY][0]) == 23", answer(body='[{"age":18,"adult":true}]'), None),
    ("len([BODY][0].age) == 2", answer(body='[{"age":18,"adult":true}]'), None),
    ("len([BODY][0].adult) == 4", answer(body='[{"age":18,"adult":true}]'), None),
    ("len([BODY]) == 20", answer(body='{"name": "john.doe"}'), None),
    ("[BODY] == pat(*john*)", answer(body=JOHN), None),
    ("[BODY].name == pat(john*)", answer(body=JOHN), None),
    ("[BODY].name == pat(bob*)", answer(body=JOHN), "[BODY].name (john.doe) == pat(bob*)"),
    ('[BODY] == pat(*<div id="user">john.doe</div>*)', answer(body=HTML.format("john.doe")), None),
    (
        '[BODY] == pat(*<div id="user">john.doe</div>*)',
        answer(body=HTML.format("jane.doe")),
        '[BODY] (<!DOCTYPE html><html lang...(truncated)) == pat(*<div id="user">john.doe</div>*)',
    ),
    (
        'pat(*<div id="user">john.doe</div>*) == [BODY]',
        answer(body=HTML.format("jane.doe")),
        'pat(*<div id="user">john.doe</div>*) == [BODY] (<!DOCTYPE html><html lang...(truncated))',
    ),
    ("[BODY].data == pat(*Whatever*)", answer(body='{"data": ["hello", "world", "Whatever"]}'), None),
    ("[IP] == pat(10.*)", answer(ip="10.0.0.0"), None),
    ("[IP] == pat(10.*)", answer(ip="255.255.255.255"), "[IP] (255.255.255.255) == pat(10.*)"),
    ("[STATUS] == pat(4*)", answer(404), None),
    ("[STATUS] == pat(4*)", answer(200), "[STATUS] (200) == pat(4*)"),
    ("[BODY].name == any(john.doe, jane.doe)", answer(body=JOHN), None),
    ("[BODY].name == any(john.doe, jane.doe)", answer(body='{"name": "jane.doe"}'), None),
    (
        "[BODY].name == any(john.doe, jane.doe)",
        answer(body='{"name": "bob"}'),
        "[BODY].name (bob) == any(john.doe, jane.doe)",
    ),
    ("[STATUS] == any(200, 429)", answer(200), None),
    ("[STATUS] == any(200, 429)", answer(429), None),
    ("any(200, 429) == [STATUS]", answer(429), None),
    ("[STATUS] == any(200, 429)", answer(404), "[STATUS] (404) == any(200, 429)"),
    ("has([BODY].errors) == false", answer(body="{}"), None),
    ("has([BODY].article) == true", answer(body=ARTICLE), None),
    ("has([BODY].errors) == false", answer(body='{"errors": ["1"]}'), "has([BODY].errors) (true) == false"),
]


@pytest.mark.parametrize(("text", "given", "message"), GATUS)
def test_every_gatus_scenario_gets_gatus_verdict_and_message(text: str, given: Answer, message: str | None) -> None:
    assert Condition.parse(text).failure(given) == message


@pytest.mark.parametrize(
    ("text", "given", "holds"),
    [
        ("[BODY].name != pat(bob*)", answer(body=JOHN), True),  # found by judging: pat() was compared as text
        ("[BODY].name != pat(john*)", answer(body=JOHN), False),
        ("[STATUS] != any(200, 429)", answer(404), True),
        ("[BODY].registry.matches == true", answer(body='{"registry": {"matches": true}}'), True),
        ("[BODY].x == 1", answer(body='{"x": true}'), False),  # a boolean is not a number
        ("[BODY].count == 1000000", answer(body='{"count": 1000000}'), True),  # Gatus prints 1e+06 here
        ('[BODY].version == "7"', answer(body='{"version": "7"}'), False),  # quotes are text, as in Gatus
        ("[BODY].missing != anything", answer(body="{}"), False),  # a missing field fails, whatever the op
        ("[BODY].status < 5", answer(body='{"status": "UP"}'), False),  # not a number: fails (Gatus reads 0)
        ("[BODY] == ok", answer(body="  ok\n"), True),  # the text of a non-JSON body, trimmed
        ("[BODY] == ok", answer(body='"ok"'), False),  # JSON string body: its text, quotes included
        ("has([BODY]) == false", answer(body=" "), True),
        ("[RESPONSE_TIME] < 1h30m", answer(ms=5_399_999), True),
        ("[STATUS] == 017", answer(15), True),  # a leading 0 is octal, as Go reads it
        ("len([IP]) == 9", answer(ip="127.0.0.1"), True),
        ("has([IP]) == false", answer(ip=""), True),
    ],
)
def test_edges_beyond_gatus_scenarios(text: str, given: Answer, holds: bool) -> None:
    assert (Condition.parse(text).failure(given) is None) is holds


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[STATUS] ? 201", "is not `<left> <op> <right>`"),  # Gatus's own invalid conditions ...
        ("[STATUS]==201", "is not `<left> <op> <right>`"),
        ("[STATUS] = = 201", "is not `<left> <op> <right>`"),
        ("[STATUS] ==", "is not `<left> <op> <right>`"),
        ("[STATUS]", "is not `<left> <op> <right>`"),
        ("", "is not `<left> <op> <right>`"),
        ("[BODY].name == glob(john*)", "glob() is not understood"),  # ... and what Gatus would read as text
        ("[STATUS] == length([BODY])", "length() is not understood"),
        ("len(3) == 1", "len() takes a placeholder, not '3'"),
        ("[RESPONSE_TIME] < any(1, 2)", "any() takes == or !=, not <"),
        ("[BODY].name > pat(a*)", "pat() takes == or !=, not >"),
        ("[RESPONSE_TIME] < potato", "< needs a number or a duration, not 'potato'"),  # Gatus reads 0
        ("[STAUTS] == 200", "[STAUTS] is not understood"),
        ("[HEADERS].x == 1", "[HEADERS] is not understood"),
        ("[STATUS].code == 200", "'[STATUS].code' is not a placeholder Gatus knows"),
        ("[BODY]..a == 1", "'[BODY]..a' is not a placeholder Gatus knows"),
        ("[STATUS == 200", "'[STATUS' is not a placeholder Gatus knows"),
        ("STATUS == 200", "reads no placeholder"),
        ("1 == 2", "reads no placeholder"),
        ("[BODY] == a == b", "is not `<left> <op> <right>`"),
    ],
)
def test_anything_the_grammar_does_not_know_is_refused_at_start_never_read_as_text(text: str, named: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(named)):
        Condition.parse(text)
