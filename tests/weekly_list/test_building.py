"""Building the list without a predictor: one model version per list, the top N kept, rows skipped."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from services.common.paths import SHARED_DATA_FILE
from services.weekly_list.building import ListError, Scored, build


def export(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "export.csv"
    path.write_text("\n".join(SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()[: rows + 1]) + "\n")
    return path


class Versions:
    """A scorer whose served version changes after some batches."""

    def __init__(self, versions: list[str]) -> None:
        self.versions, self.calls = versions, 0

    def __call__(self, batch: list[dict[str, Any]]) -> Scored:
        version = self.versions[min(self.calls, len(self.versions) - 1)]
        self.calls += 1
        predictions = [
            {
                "customerID": r["customerID"],
                "churn_probability": (r["tenure"] % 7) / 10,
                "prediction_id": f"p{i}",
                "warnings": [],
                "reasons": [{"text": "month-to-month contract"}],
            }
            for i, r in enumerate(batch)
        ]
        return Scored(version, predictions)


def test_a_promotion_mid_run_starts_the_list_over_so_one_version_scores_it(tmp_path: Path) -> None:
    scorer = Versions(["1", "1", "2"])  # the third batch is scored by version 2
    result = build(export(tmp_path, 100), 10, scorer, batch_size=25, strict=False)
    assert result.version == "2" and {row[3] for row in result.rows} == {"2"}
    assert scorer.calls == 3 + 4  # 3 batches until the change was seen, then all 4 again


def test_a_second_change_stops_the_run_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ListError, match="changed twice"):
        build(export(tmp_path, 100), 10, Versions(["1", "2", "2", "3"]), batch_size=25, strict=False)


def test_only_the_top_n_are_kept_ranked_with_ties_by_customer_id(tmp_path: Path) -> None:
    result = build(export(tmp_path, 300), 20, Versions(["1"]), batch_size=64, strict=False)
    probabilities = [row[2] for row in result.rows]
    assert len(result.rows) == 20 and probabilities == sorted(probabilities, reverse=True)
    tied = [row[1] for row in result.rows if row[2] == probabilities[0]]
    assert tied == sorted(tied)
    assert [row[0] for row in result.rows] == list(range(1, 21)) and result.scored == 300


def test_an_export_that_is_not_text_says_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("customerID,gender\nC1,Fémale\n".encode("latin-1"))
    with pytest.raises(ListError, match="CSV UTF-8"):
        build(path, 5, Versions(["1"]), batch_size=10)
    with pytest.raises(ListError, match=".csv or .xlsx"):
        build(tmp_path / "customers.txt", 5, Versions(["1"]), batch_size=10)


def test_rejected_rows_name_line_field_and_rule(tmp_path: Path) -> None:
    path = export(tmp_path, 5)
    rows = list(csv.reader(path.open()))
    rows[2][5] = "-3"  # tenure, line 3
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = build(path, 5, Versions(["1"]), batch_size=10)
    [rejected] = result.rejected
    assert (rejected.line, rejected.field, rejected.rule) == (3, "tenure", "greater_than_equal")
    assert result.scored == 4
