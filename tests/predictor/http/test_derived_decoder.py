"""The fast decoder accepts exactly what pydantic (the authority) accepts, with the same values."""

from __future__ import annotations

import csv
import json
import logging
from typing import Annotated, Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.common.customer import CATEGORICAL_FIELDS, CustomerRecord, allowed_categories, parse_csv_row
from services.common.paths import SHARED_DATA_FILE
from services.predictor.http.derived_decoder import DerivedDecoder
from services.predictor.http.validation import BATCH_DECODER, RECORD_DECODER, BatchRequest
from tests.predictor.conftest import record
from tests.predictor.http.test_properties import valid_records

DIFFERENTIAL = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON tokens at and around every rule's edge, written as raw text (NaN, 1e400 and 1.0 included).
EDGE_TOKENS = [
    "0", "1", "2", "-1", "1200", "1201", "10000", "10000000", "10000001", "18446744073709551616", "-0",
    "0.0", "-0.0", "1.0", "0.5", "1e2", "1E-7", "5e-324", "10000.000000000002", "9999.999999999998",
    "10000000.5", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "true", "false", "null",
    '""', '"0"', '"1"', '"Yes"', '"No"', '"yes"', '"No internet service"', '"No phone service"', '"DSL"',
    '"Female"', '"Month-to-month"', '"Mailed check"', '"\\u0000"', '"a\\nb"', '"\\u00e9"', '"\\ud83d\\ude00"',
    '"\\ud800"', '" "', "[]", "{}", '["Yes"]', '{"a": 1}',
]  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A record body with a few fields replaced by edge tokens, dropped or added; and whether any key repeats."""
    values = {name: json.dumps(value) for name, value in draw(valid_records()).items()}
    names = list(values)
    for name in draw(st.lists(st.sampled_from(CATEGORICAL_FIELDS), max_size=3)):  # cross-field breaks
        values[name] = json.dumps(draw(st.sampled_from(allowed_categories(name))))
    if draw(st.booleans()):
        values["TotalCharges"] = "null"
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        values[name] = draw(st.sampled_from(EDGE_TOKENS))
    if draw(st.booleans()):
        length = draw(st.sampled_from([0, 1, 63, 64, 65]))
        values["customerID"] = json.dumps(draw(st.sampled_from(["x", "é", "😀", "\t"])) * length)
    for name in draw(st.lists(st.sampled_from(names), max_size=1)):
        del values[name]
    pairs = list(values.items())
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["extra", *names])), draw(st.sampled_from(EDGE_TOKENS))))
    text = "{" + ", ".join(f"{json.dumps(name)}: {token}" for name, token in pairs) + "}"
    repeated = len({name for name, _ in pairs}) != len(pairs)
    return text.encode(), repeated


def pydantic_result(model: type[BaseModel], body: bytes) -> BaseModel | None:
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


@DIFFERENTIAL
@given(case=bodies())
def test_fast_decoder_accepts_a_record_exactly_when_pydantic_does(case: tuple[bytes, bool]) -> None:
    body, repeated = case
    fast, authority = RECORD_DECODER.decode(body), pydantic_result(CustomerRecord, body)
    if fast is not None:  # never serve what the schema refuses, and serve the same values
        assert authority is not None, body
        assert msgspec.structs.asdict(fast) == dict(authority)
        assert [type(v) for v in msgspec.structs.astuple(fast)] == [type(v) for v in dict(authority).values()]
    elif not repeated:  # valid traffic always takes the fast path (repeated keys: pydantic keeps the last)
        assert authority is None, body


@DIFFERENTIAL
@given(cases=st.lists(bodies(), max_size=3), extra=st.booleans())
def test_fast_decoder_accepts_a_batch_exactly_when_pydantic_does(cases: list[tuple[bytes, bool]], extra: bool) -> None:
    body = b'{"customers": [' + b", ".join(b for b, _ in cases) + b"]" + (b', "x": 1' if extra else b"") + b"}"
    fast, authority = BATCH_DECODER.decode(body), pydantic_result(BatchRequest, body)
    if fast is not None:
        assert isinstance(authority, BatchRequest)
        assert [msgspec.structs.asdict(row) for row in fast.customers] == [dict(r) for r in authority.customers]
    elif not any(repeated for _, repeated in cases):
        assert authority is None, body


def test_every_record_of_the_dataset_takes_the_fast_path() -> None:
    with SHARED_DATA_FILE.open(encoding="utf-8") as handle:
        rows = [parse_csv_row(row) for row in csv.DictReader(handle)]
    assert all(RECORD_DECODER.decode(json.dumps(row).encode()) is not None for row in rows)
    assert len(BATCH_DECODER.decode(json.dumps({"customers": rows}).encode()).customers) == len(rows)


def test_a_body_only_pydantic_accepts_is_still_served(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    # A repeated key: pydantic keeps the last value; msgspec also checks the first and refuses.
    body = json.dumps(record(customerID="TWICE")).replace('"tenure": ', '"tenure": true, "tenure": ', 1)
    with caplog.at_level(logging.WARNING, logger="services.predictor.http.validation"):
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["customerID"] == "TWICE"
    assert "fast decoding refused a body pydantic accepts" in caplog.text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Lax(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int


class Pattern(Strict):
    code: Annotated[str, Field(pattern="^[A-Z]+$")]


class Defaulted(Strict):
    count: int = 0


class Aliased(Strict):
    count: int = Field(alias="n")


class Stripping(Strict):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str


class FieldValidated(Strict):
    count: int

    @field_validator("count")
    @classmethod
    def _positive(cls, value: int) -> int:
        return value


class BeforeValidated(Strict):
    count: int

    @model_validator(mode="before")
    @classmethod
    def _anything(cls, data: Any) -> Any:
        return data


@pytest.mark.parametrize("model", [Lax, Pattern, Defaulted, Aliased, Stripping, FieldValidated, BeforeValidated])
def test_a_rule_the_fast_path_cannot_express_is_refused_at_import(model: type[BaseModel]) -> None:
    with pytest.raises(TypeError):
        DerivedDecoder(model)
