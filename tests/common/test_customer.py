"""The shared schema's helpers used by training and the weekly list: CSV parsing and category lists."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.customer import FEATURE_FIELDS, SIGNATURE_TYPES, CustomerRecord, allowed_categories, parse_csv_row

ROW = {
    "customerID": "3115-CZMZD", "gender": "Male", "SeniorCitizen": "0", "Partner": "No", "Dependents": "Yes",
    "tenure": "0", "PhoneService": "Yes", "MultipleLines": "No", "InternetService": "No",
    "OnlineSecurity": "No internet service", "OnlineBackup": "No internet service",
    "DeviceProtection": "No internet service", "TechSupport": "No internet service",
    "StreamingTV": "No internet service", "StreamingMovies": "No internet service",
    "Contract": "Two year", "PaperlessBilling": "No", "PaymentMethod": "Mailed check",
    "MonthlyCharges": "20.25", "TotalCharges": " ", "Churn": "No",
}  # fmt: skip


def test_blank_total_charges_of_a_new_customer_becomes_null_and_validates() -> None:
    record = parse_csv_row(ROW)
    assert record["TotalCharges"] is None and record["tenure"] == 0 and "Churn" not in record
    assert CustomerRecord.model_validate(record).TotalCharges is None


@pytest.mark.parametrize(
    ("field", "raw", "rule"), [("tenure", "twelve", "int_type"), ("MonthlyCharges", "n/a", "float_type")]
)
def test_unparseable_numbers_stay_text_so_validation_names_them(field: str, raw: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CustomerRecord.model_validate(parse_csv_row({**ROW, field: raw}))
    assert (field, rule) in {(e["loc"][0], e["type"]) for e in caught.value.errors()}


def test_signature_types_follow_the_schema() -> None:
    assert list(SIGNATURE_TYPES) == list(FEATURE_FIELDS)
    assert SIGNATURE_TYPES["tenure"] == "long" and SIGNATURE_TYPES["MonthlyCharges"] == "double"
    assert allowed_categories("Contract") == ("Month-to-month", "One year", "Two year")
