"""The promotion gate's comparison: candidate and champion scored on the same held-out customers.

The candidate's test split is the comparison set (so refreshed data can be compared at all); the
customers the champion saw in training (its train and validation splits) are left out. The rules
read ROC-AUC and what the retention team lives on, precision and lift in the 10% highest-risk.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from services.common.call_list import CALL_LIST_FRACTION, call_list_ids, call_list_metrics
from services.common.customer import ID_FIELD
from services.common.frame import records_to_columns
from services.common.model_bundle import ModelBundle
from services.tracker.settings import TrackerSettings

SPLIT_ARTIFACT = "split.json"
TEST_CUSTOMERS_ARTIFACT = "evaluation/test_customers.json"


class NotComparable(RuntimeError):
    """The evidence needed to compare the two models is missing; the message says which."""


@dataclass(frozen=True)
class Scores:
    """One model's figures on the comparison customers."""

    roc_auc: float
    precision_at_top: float
    lift_at_top: float

    @classmethod
    def of(cls, labels: np.ndarray, probabilities: np.ndarray) -> Scores:
        top = call_list_metrics(labels, probabilities, CALL_LIST_FRACTION)
        return cls(float(roc_auc_score(labels, probabilities)), top["precision_at_top"], top["lift_at_top"])


@dataclass(frozen=True)
class GateReport:
    """What the gate compared and decided; logged on the candidate's run and printed."""

    candidate_version: str
    champion_version: str
    customers: int  # held-out customers both models were scored on
    left_out: int  # candidate test customers the champion saw in training
    candidate: Scores
    champion: Scores
    call_list_size: int
    call_list_changes: int  # customers of the champion's call list the candidate's would replace
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rows = [
            f"gate: version {self.candidate_version} vs champion version {self.champion_version} on "
            f"{self.customers} held-out customers ({self.left_out} the champion trained on left out)",
        ]
        for name in ("roc_auc", "precision_at_top", "lift_at_top"):
            mine, theirs = getattr(self.candidate, name), getattr(self.champion, name)
            rows.append(f"  {name:17} candidate {mine:.4f}  champion {theirs:.4f}  ({mine - theirs:+.4f})")
        rows.append(
            f"  call list (top {CALL_LIST_FRACTION:.0%}, {self.call_list_size} customers): the candidate changes "
            f"{self.call_list_changes}"
        )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def below_floor(roc_auc: float, where: str, settings: TrackerSettings) -> list[str]:
    """The fixed floor: quality cannot ratchet down by tolerance-sized steps, first promotion included."""
    if roc_auc < settings.promotion_min_auc:
        return [
            f"test_roc_auc {where}: {roc_auc:.4f} is under the floor "
            f"CHURNGUARD_PROMOTION_MIN_AUC={settings.promotion_min_auc}"
        ]
    return []


def judge(candidate: Scores, champion: Scores, customers: int, settings: TrackerSettings) -> list[str]:
    """Every rule the candidate's figures break against the champion's (pure: unit-tested rule by rule)."""
    where = f"on the {customers} held-out customers"
    failures = below_floor(candidate.roc_auc, where, settings)
    if customers < settings.promotion_min_customers:
        failures.append(
            f"not comparable: only {customers} held-out customers, fewer than "
            f"CHURNGUARD_PROMOTION_MIN_CUSTOMERS={settings.promotion_min_customers}"
        )
    if candidate.roc_auc < champion.roc_auc - settings.promotion_auc_tolerance:
        failures.append(
            f"test_roc_auc {where}: {candidate.roc_auc:.4f} is worse than champion's {champion.roc_auc:.4f} "
            f"by more than the tolerance {settings.promotion_auc_tolerance}"
        )
    if candidate.precision_at_top < champion.precision_at_top - settings.promotion_top_precision_tolerance:
        failures.append(
            f"precision_at_top {where}: {candidate.precision_at_top:.4f} is worse than champion's "
            f"{champion.precision_at_top:.4f} by more than the tolerance "
            f"{settings.promotion_top_precision_tolerance}"
        )
    return failures


def compare(
    client: MlflowClient,
    settings: TrackerSettings,
    candidate: ModelVersion,
    candidate_bundle: ModelBundle,
    champion: ModelVersion,
    champion_bundle: ModelBundle,
) -> GateReport:
    """Score both models on the candidate's test customers the champion never saw; judge; log the report."""
    records, labels = _test_customers(client, str(candidate.run_id))
    seen = set(_seen_in_training(client, str(champion.run_id)))
    keep = [i for i, record in enumerate(records) if record[ID_FIELD] not in seen]
    held_out = [records[i] for i in keep]
    held_labels = labels[keep]
    if len(held_out) == 0 or held_labels.min() == held_labels.max():
        raise NotComparable(f"{len(held_out)} held-out customers, not both churners and stayers: nothing to compare")
    columns = records_to_columns(held_out)
    mine = np.asarray(candidate_bundle.pipeline_probabilities(columns))
    theirs = np.asarray(champion_bundle.pipeline_probabilities(columns))
    ids = [record[ID_FIELD] for record in held_out]
    their_list, my_list = call_list_ids(ids, theirs), call_list_ids(ids, mine)
    candidate_scores, champion_scores = Scores.of(held_labels, mine), Scores.of(held_labels, theirs)
    report = GateReport(
        candidate_version=str(candidate.version),
        champion_version=str(champion.version),
        customers=len(held_out),
        left_out=len(records) - len(held_out),
        candidate=candidate_scores,
        champion=champion_scores,
        call_list_size=len(their_list),
        call_list_changes=len(set(their_list) - set(my_list)),
        failures=judge(candidate_scores, champion_scores, len(held_out), settings),
    )
    client.log_dict(str(candidate.run_id), report.as_dict(), f"gate/vs-champion-v{champion.version}.json")
    return report


def _test_customers(client: MlflowClient, run_id: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    raw = _logged_json(client, run_id, TEST_CUSTOMERS_ARTIFACT, "the candidate's test customers")
    return list(raw["records"]), np.asarray(raw["labels"], dtype=np.int64)


def _seen_in_training(client: MlflowClient, run_id: str) -> list[str]:
    split = _logged_json(client, run_id, SPLIT_ARTIFACT, "the champion's training customers")
    return [*split["train"], *split["validation"]]


def _logged_json(client: MlflowClient, run_id: str, artifact: str, what: str) -> Any:
    with tempfile.TemporaryDirectory() as scratch:
        try:
            local = client.download_artifacts(run_id, artifact, scratch)
        except Exception as error:  # noqa: BLE001 - any missing evidence is the same refusal, named
            raise NotComparable(f"not comparable: {what} are not recorded on run {run_id} ({artifact})") from error
        return json.loads(Path(local).read_text(encoding="utf-8"))
