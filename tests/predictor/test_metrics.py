"""Prometheus metrics move with the traffic they describe."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PredictorProcess
from tests.predictor.conftest import AppFactory, record

pytestmark = pytest.mark.slow


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_metrics_move_with_predictions_failures_and_warnings(start_app: AppFactory) -> None:
    client = start_app()
    version = client.get("/model").json()["version"]
    before = client.get("/metrics").text
    client.post("/predict", json=record())
    client.post("/predict/batch", json={"customers": [record(), record(tenure=300)]})
    client.post("/predict", json=record(tenure=-1))
    after = client.get("/metrics").text
    assert (
        sample(after, "churnguard_predictions_total", model_version=version)
        - sample(before, "churnguard_predictions_total", model_version=version)
        == 3
    )
    assert sample(after, "churnguard_churn_probability_count") == 3
    assert sample(after, "churnguard_validation_failures_total", field="tenure") == 1
    assert sample(after, "churnguard_out_of_profile_warnings_total", field="tenure") == 1
    assert sample(after, "churnguard_http_requests_total", route="/predict", method="POST", status="200") == 1
    assert sample(after, "churnguard_http_requests_total", route="/predict", method="POST", status="422") == 1
    assert sample(after, "churnguard_http_request_duration_seconds_count", route="/predict/batch", method="POST") == 1
    assert sample(after, "churnguard_model_info", version=version) == 1
    assert sample(after, "churnguard_readiness_check", check="canary") == 1
    assert sample(after, "churnguard_model_load_seconds") > 0


def test_unknown_paths_share_one_label(start_app: AppFactory) -> None:
    client = start_app()
    for i in range(5):
        client.get(f"/random-{i}")
    text = client.get("/metrics").text
    assert sample(text, "churnguard_http_requests_total", route="unmatched", status="404") == 5
    assert not re.search(r"random-\d", text)


def test_counts_are_summed_across_several_workers(predictor_process: PredictorProcess) -> None:
    predictor_process.env["PREDICTOR_WORKERS"] = "2"
    predictor_process.start()
    with httpx.Client(timeout=10) as http:  # new connections spread over both workers
        # Each worker loads its own model: ready once 20 answers in a row (fresh connections) say so.
        streak, deadline = 0, time.monotonic() + 60
        while streak < 20 and time.monotonic() < deadline:
            ready = http.get(f"{predictor_process.url}/health/ready", headers={"connection": "close"})
            streak = streak + 1 if ready.status_code == 200 else 0
        assert streak == 20
        for _ in range(40):
            assert (
                http.post(
                    f"{predictor_process.url}/predict", json=record(), headers={"connection": "close"}
                ).status_code
                == 200
            )
        text = http.get(f"{predictor_process.url}/metrics").text
    assert (
        sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "churnguard_predictions_total"
        )
        == 40
    )
    pids = {
        s.labels.get("pid")
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "churnguard_model_info"
    }
    assert len(pids) == 2  # both workers report the model they serve
