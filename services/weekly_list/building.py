"""The weekly list, built once for the command line, the predictor's page and the scheduled job.

Reads an export (.csv, with or without Excel's byte-order mark, or .xlsx), skips invalid rows (each is
reported with its line, field and rule), scores the rest through a `Scorer` in batches, keeps only the
top N (memory stays flat however long the export), and makes sure one model version scored the whole
list: if the served version changes mid-run, the run starts over once, and stops if it changes again.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.common.customer import ID_FIELD, CustomerRecord, parse_csv_row
from services.common.weekly_list_facts import WeeklyListFacts

REASONS = 3
OUTPUT_COLUMNS = (
    "rank",
    "customerID",
    "churn_probability",
    "model_version",
    "prediction_id",
    "warnings",
    "reasons",
)
REJECTED_COLUMNS = ("line", "customerID", "field", "rule", "message")
FORMATS = (".csv", ".xlsx")


class ListError(Exception):
    """A problem explained for the person making the list."""


class InvalidRows(ListError):
    """--strict and at least one invalid row: no list."""


class VersionChanged(Exception):
    """The served model version changed between two batches of one run."""


@dataclass(frozen=True)
class Scored:
    """The answer to one batch: the version that scored it, one prediction per record, in order."""

    version: str
    predictions: list[dict[str, Any]]


Scorer = Callable[[list[dict[str, Any]]], Scored]


@dataclass(frozen=True)
class Rejected:
    line: int
    customer_id: str
    field: str
    rule: str
    message: str

    def row(self) -> list[Any]:
        return [self.line, self.customer_id, self.field, self.rule, self.message]


@dataclass
class WeeklyList:
    """The ranked list and what the run saw."""

    version: str
    rows: list[list[Any]]  # OUTPUT_COLUMNS order, best first
    rejected: list[Rejected]
    scored: int
    made_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def facts(self, iso_week: str, written: list[Path], challenger: str | None = None) -> WeeklyListFacts:
        """What the archive keeps beside the list, and the status page shows (`challenger`: the version the
        shadow lane scored with meanwhile; the list itself is the champion's alone)."""
        return WeeklyListFacts(
            model_version=self.version,
            made_at=self.made_at.replace(microsecond=0),
            customers_scored=self.scored,
            customers_listed=len(self.rows),
            rows_rejected=len(self.rejected),
            iso_week=iso_week,
            file=written[0].name,
            rejected_file=written[1].name if len(written) > 1 else None,
            challenger=challenger,
        )


def read_export(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, raw row) from a .csv (UTF-8, Excel's BOM tolerated) or the first sheet of an .xlsx."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ListError(f"{path.name}: the export must be .csv or .xlsx")
    try:
        if suffix == ".xlsx":
            yield from _read_xlsx(path)
            return
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from enumerate(csv.DictReader(handle), start=2)
    except OSError as error:
        raise ListError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ListError(f"{path.name} is not UTF-8 text: save it from Excel as 'CSV UTF-8' or as .xlsx") from error


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError) as error:
        raise ListError(f"{path.name} is not a readable .xlsx workbook: {error}") from error
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(name).strip() if name is not None else "" for name in next(rows, ())]
        for line, values in enumerate(rows, start=2):
            if all(value is None for value in values):
                continue
            yield line, {name: _cell_text(value) for name, value in zip(header, values, strict=False) if name}
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """Cells as the CSV export would write them (Excel stores 12 as 12.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_row(line: int, raw: dict[str, Any]) -> dict[str, Any] | Rejected:
    """The record ready to send, or why it is skipped (the first problem: field and rule)."""
    record = parse_csv_row(raw)
    try:
        CustomerRecord.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "record"
        return Rejected(line, str(raw.get(ID_FIELD) or ""), field_name, first["type"], first["msg"])
    return record


def build(path: Path, top: int, score: Scorer, batch_size: int, strict: bool = False) -> WeeklyList:
    if top < 1:
        raise ListError("top must be at least 1")
    try:
        return _build_once(path, top, score, batch_size, strict)
    except VersionChanged:
        pass  # a promotion landed mid-run: start over, so one version scores the whole list
    try:
        return _build_once(path, top, score, batch_size, strict)
    except VersionChanged as error:
        raise ListError(f"the served model changed twice during this run ({error}); run it again") from None


def _build_once(path: Path, top: int, score: Scorer, batch_size: int, strict: bool) -> WeeklyList:
    best: list[Any] = []  # a heap of the top N: (probability, reversed customerID, row)
    rejected: list[Rejected] = []
    version: str | None = None
    scored = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal version, scored
        answer = score(batch)
        if version is None:
            version = answer.version
        elif answer.version != version:
            raise VersionChanged(f"version {version}, then {answer.version}")
        for p in answer.predictions:
            entry = [
                0,
                p["customerID"],
                round(p["churn_probability"], 6),
                answer.version,
                p["prediction_id"],
                ";".join(p.get("warnings") or ()),
                "; ".join(r["text"] for r in p.get("reasons") or ()),
            ]
            item = (p["churn_probability"], _reverse(p["customerID"]), entry)
            if len(best) < top:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
        scored += len(batch)
        batch.clear()

    for line, raw in read_export(path):
        checked = check_row(line, raw)
        if isinstance(checked, Rejected):
            if strict:
                raise InvalidRows(
                    f"invalid row (--strict: no list): line {checked.line}: {checked.field}: {checked.message}"
                )
            rejected.append(checked)
            continue
        batch.append(checked)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if version is None:
        raise ListError(f"{path.name} holds no valid customers ({len(rejected)} rows rejected)")
    rows = [entry for _, _, entry in sorted(best, reverse=True)]
    for position, row in enumerate(rows, start=1):
        row[0] = position
    return WeeklyList(version, rows, rejected, scored)


def _reverse(text: str) -> tuple[int, ...]:
    """Ties on probability rank by customerID ascending inside a max-first order."""
    return tuple(-ord(c) for c in text)


def rejected_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.rejected.csv")


def write(result: WeeklyList, output: Path) -> list[Path]:
    """The list (.csv or .xlsx by its name) and, when rows were skipped, `<stem>.rejected.csv`; each
    written whole or not at all. A stale rejected file from an earlier run is removed."""
    if output.suffix.lower() not in FORMATS:
        raise ListError(f"{output.name}: the list must be written as .csv or .xlsx")
    output.parent.mkdir(parents=True, exist_ok=True)
    _atomic(output, OUTPUT_COLUMNS, result.rows)
    written = [output]
    skipped = rejected_path(output)
    if result.rejected:
        _atomic(skipped, REJECTED_COLUMNS, [r.row() for r in result.rejected])
        written.append(skipped)
    else:
        skipped.unlink(missing_ok=True)
    return written


def _atomic(path: Path, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    partial = path.with_name(path.name + ".partial")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("weekly list")
        sheet.append(list(header))
        for row in rows:
            sheet.append(row)
        workbook.save(partial)
    else:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    partial.replace(path)
