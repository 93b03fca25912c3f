"""Load the training data: the shared copy or the checked public one, every row validated by the schema."""

from __future__ import annotations

import csv
import io
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from services.common.customer import ID_FIELD, LABEL_FIELD, CustomerRecord, parse_csv_row
from services.common.frame import records_to_frame
from services.common.hashing import file_sha256
from services.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)


class DataIntegrityError(RuntimeError):
    """The training data is not the data we expect (hash) or breaks the customer schema."""


@dataclass(frozen=True)
class TrainingData:
    """The validated data set and the facts that identify it."""

    path: Path
    sha256: str
    ids: pd.Series
    features: pd.DataFrame
    labels: pd.Series

    @property
    def rows(self) -> int:
        return len(self.labels)


def locate_data(settings: TrackerSettings) -> Path:
    """The configured file when present, else the public copy downloaded once into the cache."""
    if settings.data_path.exists():
        return settings.data_path
    cached = settings.data_cache_dir / "telco_customer_churn.csv"
    if not cached.exists() or file_sha256(cached) != settings.data_sha256:
        log.info("downloading training data", extra={"url": settings.data_url})
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part")
        try:
            with urllib.request.urlopen(settings.data_url, timeout=60) as response:  # noqa: S310 - https URL from settings
                partial.write_bytes(response.read())
        except OSError as error:  # URLError, timeouts, refused connections
            raise DataIntegrityError(
                f"{settings.data_path} is absent and the public copy {settings.data_url} could not be downloaded "
                f"({error}); put the file there or set CHURNGUARD_DATA_PATH"
            ) from error
        partial.replace(cached)
    return cached


def load_training_data(settings: TrackerSettings) -> TrainingData:
    """Read, hash-check and validate the data; refuse anything that is not exactly the expected file."""
    path = locate_data(settings)
    sha256 = file_sha256(path)
    if sha256 != settings.data_sha256:
        raise DataIntegrityError(f"refusing {path}: sha256 {sha256} differs from the expected {settings.data_sha256}")
    return parse_training_csv(path, sha256)


def parse_training_csv(path: Path, sha256: str) -> TrainingData:
    """Validate every row with the customer schema and the label; name each bad row."""
    text = path.read_text(encoding="utf-8")
    records: list[dict[str, object]] = []
    labels: list[int] = []
    problems: list[str] = []
    for line_number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            record = CustomerRecord.model_validate(parse_csv_row(row)).model_dump()
        except ValidationError as error:
            problems.append(f"line {line_number}: {error.errors()[0]['loc']} {error.errors()[0]['msg']}")
            continue
        label = row.get(LABEL_FIELD)
        if label not in ("Yes", "No"):
            problems.append(f"line {line_number}: {LABEL_FIELD} must be Yes or No, got {label!r}")
            continue
        records.append(record)
        labels.append(int(label == "Yes"))
    if problems:
        shown = "; ".join(problems[:5])
        raise DataIntegrityError(f"{len(problems)} invalid rows in {path}: {shown}")
    return TrainingData(
        path=path,
        sha256=sha256,
        ids=pd.Series([r[ID_FIELD] for r in records], name=ID_FIELD),
        features=records_to_frame(records),
        labels=pd.Series(labels, name=LABEL_FIELD),
    )
