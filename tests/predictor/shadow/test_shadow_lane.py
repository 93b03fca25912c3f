"""The shadow lane on real parts: the tracker, `churnguard shadow` and `promote` as commands, a predictor
process with two workers sharing one SQLite audit log. Answers never change; the comparison is the service's."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from services.common.paths import SHARED_DATA_FILE
from services.common.registry_names import CHALLENGER_ALIAS
from services.predictor.scoring.served_model import ServedModel
from services.predictor.settings import PredictorSettings
from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.gate import TEST_CUSTOMERS_ARTIFACT
from services.tracker.registry import promote
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, PredictorProcess
from tests.predictor.conftest import AppFactory, record
from tests.support import REPO_ROOT
from tests.tracker.test_experiments import _log_altered_model
from tests.tracker.test_predictor_push import churnguard, serving_predictor

pytestmark = pytest.mark.slow


def logged_test_split(settings: TrackerSettings, run_id: str) -> tuple[list[dict[str, Any]], list[int]]:
    with tempfile.TemporaryDirectory() as scratch:
        path = MlflowClient(settings.mlflow_tracking_uri).download_artifacts(run_id, TEST_CUSTOMERS_ARTIFACT, scratch)
        logged = json.loads(Path(path).read_text(encoding="utf-8"))
    return logged["records"], logged["labels"]


def score(predictor: PredictorProcess, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for start in range(0, len(customers), 500):
        answer = httpx.post(f"{predictor.url}/predict/batch", json={"customers": customers[start : start + 500]})
        assert answer.status_code == 200, answer.text
        answers.extend(answer.json()["predictions"])
    return answers


def weekly_list(predictor: PredictorProcess, archive: Path) -> tuple[list[list[str]], dict[str, Any]]:
    """`churnguard weekly-list-job --once` on 300 customers: the list's rows (prediction ids left out) and facts."""
    export = archive.parent / "export.csv"
    export.write_text("\n".join(SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()[:301]) + "\n")
    env = {"PREDICTOR_URL": predictor.url, "WEEKLY_LIST_INPUT": str(export), "WEEKLY_LIST_TOP": "30"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "weekly-list-job", "--once"],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "WEEKLY_LIST_ARCHIVE_DIR": str(archive)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [facts] = archive.glob("*-W*.json")
    with (archive / json.loads(facts.read_text())["file"]).open(encoding="utf-8", newline="") as handle:
        rows = [[value for key, value in row.items() if key != "prediction_id"] for row in csv.DictReader(handle)]
    return rows, json.loads(facts.read_text())


def without_ids(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in item.items() if key != "prediction_id"} for item in answers]


def every_worker_says(predictor: PredictorProcess, path: str, check: Any, timeout: float = 60) -> dict[str, Any]:
    """Ask until 12 answers in a row (any worker may take each) pass `check`; the last answer."""
    deadline, streak, body = time.monotonic() + timeout, 0, {}
    while streak < 12:
        assert time.monotonic() < deadline, f"{path}: {body}"
        body = httpx.get(f"{predictor.url}{path}", timeout=30).json()
        streak = streak + 1 if check(body) else 0
        time.sleep(0.05)
    return body


@pytest.mark.second_lane  # ~100 s, its own tracker model and predictor: beside the rest in make test
def test_a_challenger_scores_every_answer_beside_the_champion_and_never_changes_one(
    tracker_settings: TrackerSettings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    own = tracker_settings.model_copy(update={"registered_model_name": "shadow-lane"})
    first = run_experiment(load_config(BASELINE), own)
    promote(own, first.version, reason="first")
    second = run_experiment(load_config(BASELINE, ["model.params.C=0.05"]), own)
    predictor = serving_predictor(own, tmp_path, poll_seconds=0.5)
    predictor.stop()
    predictor.env.update(PREDICTOR_WORKERS="2", PREDICTOR_DRIFT_SECONDS="0.2")
    predictor.start()
    request.addfinalizer(lambda: predictor.process is None or predictor.process.poll() is not None or predictor.stop())
    urls = predictor.url
    customers, labels = logged_test_split(own, second.run_id)
    before = score(predictor, customers)
    list_before = weekly_list(predictor, tmp_path / "before")

    # What cannot be a challenger is refused, naming why; nothing changes.
    assert churnguard(own, "shadow", first.version, "--reason", "x", urls=urls).returncode == 1
    missing = churnguard(own, "shadow", "999", "--reason", "x", urls=urls)
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert churnguard(own, "shadow", second.version, urls=urls).returncode == 2  # no --reason
    started = churnguard(own, "shadow", second.version, "--reason", "try C=0.05 on live traffic", urls=urls)
    assert started.returncode == 0, started.stderr
    assert f"challenger: version {second.version}" in started.stdout
    every_worker_says(predictor, "/model", lambda card: (card.get("challenger") or {}).get("version") == second.version)

    after = score(predictor, customers)
    assert without_ids(after) == without_ids(before)  # the same answers, byte for byte but the ids
    list_after = weekly_list(predictor, tmp_path / "after")
    assert list_after[0] == list_before[0]  # the same list; its facts name the challenger scored beside it
    assert list_before[1]["challenger"] is None and list_after[1]["challenger"] == second.version
    answered = len(customers) + 300  # the test split, and the list made with the challenger set
    paired = every_worker_says(predictor, "/model/shadow", lambda r: r["paired"] == answered)
    assert paired["model"]["version"] == second.version and paired["champion"]["version"] == first.version
    assert paired["dropped"] == 0 and paired["outcomes"] == 0 and paired["verdict"] == "inconclusive"
    assert 0 < paired["top_overlap"] <= 1 and paired["mean_abs_difference"] > 0 and paired["score_psi"] >= 0
    metrics = httpx.get(f"{predictor.url}/metrics").text
    assert "churnguard_shadow_top_overlap " in metrics and "churnguard_shadow_predictions_total" in metrics

    ids = [answer["prediction_id"] for answer in after]
    outcomes = [{"prediction_id": i, "churned": bool(y)} for i, y in zip(ids, labels, strict=True)]
    assert httpx.post(f"{predictor.url}/outcomes", json={"outcomes": outcomes[:150]}).status_code == 200
    few = every_worker_says(predictor, "/model/shadow", lambda r: r["outcomes"] == 150)
    assert few["verdict"] == "inconclusive"  # below PREDICTOR_SHADOW_MIN_OUTCOMES (200)
    assert httpx.post(f"{predictor.url}/outcomes", json={"outcomes": outcomes[150:]}).status_code == 200
    report = every_worker_says(predictor, "/model/shadow", lambda r: r["outcomes"] == len(customers))
    assert report["verdict"] in ("better", "worse", "no_difference")

    # promote prints the evidence beside the gate's report, and keeps it on the challenger's run.
    promoted = churnguard(own, "promote", second.version, "--reason", "shadowed a week", urls=urls)
    assert f"shadow: version {second.version} beside champion version {first.version}" in promoted.stdout
    assert f"on {len(customers)} outcomes" in promoted.stdout and "gate: version" in promoted.stdout
    client = MlflowClient(own.mlflow_tracking_uri)
    with tempfile.TemporaryDirectory() as scratch:
        gate_path = client.download_artifacts(second.run_id, f"gate/vs-champion-v{first.version}.json", scratch)
        gate = json.loads(Path(gate_path).read_text(encoding="utf-8"))
        evidence_path = client.download_artifacts(second.run_id, f"shadow/evidence-v{second.version}.json", scratch)
        assert json.loads(Path(evidence_path).read_text(encoding="utf-8"))["report"]["paired"] == answered
    # The same customers: what the service realized is what the gate computed on its held-out data.
    assert gate["customers"] == len(customers) and gate["left_out"] == 0
    for figure in ("roc_auc", "precision_at_top"):
        assert report["realized"]["champion"][figure] == pytest.approx(gate["champion"][figure], abs=1e-9)
        assert report["realized"]["challenger"][figure] == pytest.approx(gate["candidate"][figure], abs=1e-9)
    if promoted.returncode == 0:  # the challenger is the champion now: its shadow ends
        assert "shadow: stopped" in promoted.stdout
        with pytest.raises(Exception, match="alias"):
            client.get_model_version_by_alias(own.registered_model_name, CHALLENGER_ALIAS)
    else:
        stopped = churnguard(own, "shadow", "--stop", urls=urls)
        assert stopped.returncode == 0 and f"stopped (version {second.version})" in stopped.stdout
    every_worker_says(predictor, "/model", lambda card: card.get("challenger") is None)


class Raising:
    """A challenger whose scorer fails on every record (a broken model family, a bad artifact)."""

    name, inline = "raising", True

    def probabilities(self, columns: Any) -> list[float]:
        raise RuntimeError("challenger exploded")


def with_challenger(client: TestClient, scorer: Any | None = None) -> ServedModel:
    """Give the app's shadow lane a challenger: the champion itself, or with another scorer."""
    services = client.app.state.services  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while services.shadow.challenger.state.checked_at is None:  # the keeper's first look at the alias is done
        assert time.monotonic() < deadline
        time.sleep(0.05)
    champion = services.store.current
    challenger = champion if scorer is None else dataclasses.replace(champion, scorer=scorer)
    services.shadow.challenger.current = challenger
    return challenger


def test_a_challenger_that_raises_on_every_record_leaves_every_answer_200(start_app: AppFactory) -> None:
    client = start_app(poll_seconds=0, drift_seconds=0.01)
    with_challenger(client, Raising())
    answers = [client.post("/predict", json=record()) for _ in range(20)]
    answers.append(client.post("/predict/batch", json={"customers": [record()] * 100}))
    assert [answer.status_code for answer in answers] == [200] * 21
    deadline = time.monotonic() + 10
    while (report := client.get("/model/shadow").json())["dropped"] < 120:  # counted in the log as it drains
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    assert report["paired"] == 0 and report["dropped"] == 120 and "challenger exploded" in report["last_error"]
    assert 'churnguard_shadow_dropped_total{reason="challenger_error"} 120.0' in client.get("/metrics").text


def test_a_full_queue_drops_and_counts_and_never_waits(start_app: AppFactory) -> None:
    client = start_app(poll_seconds=0, drift_seconds=0.01, shadow_queue=50, shadow_min_outcomes=7)
    services = client.app.state.services  # type: ignore[attr-defined]
    with_challenger(client)
    services.shadow.stop()  # nothing drains: the queue fills
    kept = client.post("/predict/batch", json={"customers": [record()] * 50})
    over = client.post("/predict/batch", json={"customers": [record()] * 30})
    assert kept.status_code == over.status_code == 200
    assert services.shadow.queued == 50
    assert 'churnguard_shadow_dropped_total{reason="queue_full"} 30.0' in client.get("/metrics").text
    services.shadow.drain()
    services.shadow_evidence.forget()  # the /metrics above computed the report a moment ago
    report = client.get("/model/shadow").json()
    assert report["paired"] == 50 and report["dropped"] == 30, report
    assert report["top_overlap"] == 1.0 and report["mean_abs_difference"] == 0.0
    assert report["min_outcomes"] == 7  # the setting actually used, read back


def test_a_challenger_that_cannot_load_is_reported_and_answers_go_on(
    start_app: AppFactory, tracker_settings: TrackerSettings
) -> None:
    """The alias moved by hand to a version whose canary does not reproduce (`shadow` itself refuses it)."""
    own = tracker_settings.model_copy(update={"registered_model_name": "shadow-unloadable"})
    first = run_experiment(load_config(BASELINE), own)
    promote(own, first.version, reason="first")
    bad = _log_altered_model(own, canary_shift=1e-3)
    refused = churnguard(own, "shadow", bad, "--reason", "by the command", urls="http://127.0.0.1:1")
    assert refused.returncode == 1 and "canary" in refused.stderr
    MlflowClient(own.mlflow_tracking_uri).set_registered_model_alias(own.registered_model_name, CHALLENGER_ALIAS, bad)
    client = start_app(model_uri=f"models:/{own.registered_model_name}@champion", poll_seconds=0, drift_seconds=0.01)
    reload = client.post("/admin/reload").json()
    assert reload["challenger"] is None and "canary" in reload["challenger_error"]
    assert [client.post("/predict", json=record()).status_code for _ in range(10)] == [200] * 10
    deadline = time.monotonic() + 10
    while (report := client.get("/model/shadow").json())["dropped"] < 10:
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    assert report["model"] is None and report["designated"] == bad and "canary" in report["last_error"]
    assert 'churnguard_shadow_dropped_total{reason="challenger_unloadable"} 10.0' in client.get("/metrics").text


def test_the_verdict_reads_the_gate_s_own_tolerance_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURNGUARD_PROMOTION_AUC_TOLERANCE", "0.02")
    monkeypatch.setenv("CHURNGUARD_PROMOTION_TOP_PRECISION_TOLERANCE", "0.07")
    monkeypatch.setenv("PREDICTOR_SHADOW_QUEUE", "123")
    settings = PredictorSettings()
    assert (settings.shadow_auc_tolerance, settings.shadow_top_precision_tolerance) == (0.02, 0.07)
    assert settings.shadow_queue == 123
