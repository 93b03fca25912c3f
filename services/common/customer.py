"""THE customer schema: fields, categories, hard and cross-field rules (shared by training and serving).

The rules are the contract's (../shared/CONTRACT.md, "Customer record"); nothing else in the
repository may restate them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

YesNo = Literal["Yes", "No"]
InternetAddOn = Literal["Yes", "No", "No internet service"]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise PydanticCustomError("printable", "customerID must contain printable characters only")
    return value


CustomerId = Annotated[str, Field(min_length=1, max_length=64, examples=["7590-VHVEG"]), AfterValidator(_printable)]
StrictInt = Annotated[int, Field(strict=True)]
StrictFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]

NO_INTERNET = "No internet service"
INTERNET_ADD_ONS = (
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
)


class CustomerRecord(BaseModel):
    """One customer as the dataset describes it (without the `Churn` label)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    customerID: CustomerId
    gender: Literal["Female", "Male"]
    SeniorCitizen: Annotated[StrictInt, Field(ge=0, le=1)]
    Partner: YesNo
    Dependents: YesNo
    tenure: Annotated[StrictInt, Field(ge=0, le=1200, description="months")]
    PhoneService: YesNo
    MultipleLines: Literal["Yes", "No", "No phone service"]
    InternetService: Literal["DSL", "Fiber optic", "No"]
    OnlineSecurity: InternetAddOn
    OnlineBackup: InternetAddOn
    DeviceProtection: InternetAddOn
    TechSupport: InternetAddOn
    StreamingTV: InternetAddOn
    StreamingMovies: InternetAddOn
    PaperlessBilling: YesNo
    Contract: Literal["Month-to-month", "One year", "Two year"]
    PaymentMethod: Literal["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]
    MonthlyCharges: Annotated[StrictFloat, Field(gt=0, le=10_000)]
    TotalCharges: Annotated[StrictFloat | None, Field(ge=0, le=10_000_000)]

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CustomerRecord:
        check_cross_field_rules(self)
        return self


def check_cross_field_rules(record: Any) -> None:
    """The contract's cross-field rules on anything with the fields as attributes (a model or a row)."""
    if (record.PhoneService == "No") != (record.MultipleLines == "No phone service"):
        raise PydanticCustomError(
            "phone_service_mismatch",
            'PhoneService is "No" exactly when MultipleLines is "No phone service"',
            {"fields": ["PhoneService", "MultipleLines"]},
        )
    add_ons = (
        record.OnlineSecurity, record.OnlineBackup, record.DeviceProtection,
        record.TechSupport, record.StreamingTV, record.StreamingMovies,
    )  # fmt: skip
    no_internet = record.InternetService == "No"
    consistent = add_ons.count(NO_INTERNET) == 6 if no_internet else NO_INTERNET not in add_ons
    if not consistent:  # the common case above is one tuple scan; name the offenders only on failure
        mismatched = [
            name for name, value in zip(INTERNET_ADD_ONS, add_ons, strict=True) if (value == NO_INTERNET) != no_internet
        ]
        raise PydanticCustomError(
            "internet_service_mismatch",
            'InternetService is "No" exactly when each of the six add-ons is "No internet service"',
            {"fields": ["InternetService", *mismatched]},
        )
    if record.TotalCharges is None and record.tenure != 0:
        raise PydanticCustomError(
            "total_charges_null",
            "TotalCharges may be null only when tenure is 0",
            {"fields": ["TotalCharges", "tenure"]},
        )


ID_FIELD = "customerID"
LABEL_FIELD = "Churn"
FEATURE_FIELDS: tuple[str, ...] = tuple(name for name in CustomerRecord.model_fields if name != ID_FIELD)
NUMERIC_FIELDS: tuple[str, ...] = ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges")
CATEGORICAL_FIELDS: tuple[str, ...] = tuple(name for name in FEATURE_FIELDS if name not in NUMERIC_FIELDS)
INTEGER_FIELDS = frozenset({"SeniorCitizen", "tenure"})

# The MLflow signature a servable model must carry: column name -> MLflow type.
SIGNATURE_TYPES: dict[str, str] = {
    name: ("long" if name in INTEGER_FIELDS else "double" if name in NUMERIC_FIELDS else "string")
    for name in FEATURE_FIELDS
}


def allowed_categories(name: str) -> tuple[str, ...]:
    """The values the schema allows for a categorical field (from its Literal annotation)."""
    annotation = CustomerRecord.model_fields[name].annotation
    return tuple(str(value) for value in get_args(annotation))


def parse_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Turn one dataset CSV row (all strings) into a JSON-like record; blank TotalCharges -> None."""
    record: dict[str, Any] = {}
    for name in CustomerRecord.model_fields:
        raw = row.get(name)
        if raw is None:
            continue  # leave the missing field for validation to name
        if name in INTEGER_FIELDS:
            record[name] = _to_number(raw, int)
        elif name in NUMERIC_FIELDS:
            record[name] = None if raw.strip() == "" and name == "TotalCharges" else _to_number(raw, float)
        else:
            record[name] = raw
    return record


def _to_number(raw: str, kind: type) -> Any:
    """Convert when the text is a number of that kind; else keep the text so validation names it."""
    try:
        return kind(raw.strip())
    except ValueError:
        return raw
