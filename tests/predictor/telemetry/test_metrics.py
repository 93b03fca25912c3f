"""Prometheus metrics move with the traffic they describe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

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


def summed(text: str, name: str, **labels: str) -> float:
    """A sample summed over every series (and worker) of that name with these labels."""
    return sum(
        float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


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
    assert sample(after, "churnguard_audit_pending_records") >= 0
    assert 0 <= sample(after, "churnguard_audit_oldest_pending_seconds") < 5  # records flow: nothing waits long


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
        # Each worker hands its counts to the shared files within a second (metric_buffer.FLUSH_SECONDS).
        deadline = time.monotonic() + 10
        while True:
            text = http.get(f"{predictor_process.url}/metrics").text
            counted = summed(text, "churnguard_predictions_total")
            timed = summed(text, "churnguard_http_request_duration_seconds_count", route="/predict")
            if (counted, timed) == (40, 40) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert (counted, timed) == (40, 40)
    pids = {
        s.labels.get("pid")
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "churnguard_model_info"
    }
    assert len(pids) == 2  # both workers report the model they serve


def test_every_route_is_pre_created_with_its_real_method(start_app: AppFactory) -> None:
    text = start_app().get("/metrics").text
    latency = "churnguard_http_request_duration_seconds_count"
    assert 'route="/admin/reload"' in text
    for route, method in [("/admin/reload", "POST"), ("/predict", "POST"), ("/model", "GET"), ("/metrics", "GET")]:
        assert any(
            s.labels == {"route": route, "method": method}
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == latency
        ), (route, method)
    assert sample(text, latency, route="/admin/reload", method="GET") == 0.0
    assert 'route="/admin/reload",method="GET"' not in text.replace(" ", "")


REPLACED_MODEL_SCRIPT = """
from prometheus_client import CollectorRegistry
from services.predictor.telemetry.metrics import PredictorMetrics
metrics = PredictorMetrics(CollectorRegistry(), multiprocess=True)
metrics.set_model("churn-model", "1", "run-1", 0.1)
metrics.set_model("churn-model", "2", "run-2", 0.1)
print(metrics.exposition().decode())
"""


def test_a_replaced_model_disappears_from_model_info_in_multiprocess_mode(tmp_path: Path) -> None:
    """prometheus-client's clear() cannot reach multi-process files (upstream #916): we must drop it."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    text = subprocess.run(
        [sys.executable, "-c", REPLACED_MODEL_SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout
    served = [
        s.labels["version"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "churnguard_model_info"
    ]
    assert served == ["2"], text


BUFFERED_SCRIPT = """
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from services.predictor.telemetry import metric_buffer
from services.predictor.telemetry.metrics import PredictorMetrics

def in_files():
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return (
        registry.get_sample_value("churnguard_predictions_total", {"model_version": "3"}) or 0,
        registry.get_sample_value("churnguard_churn_probability_count") or 0,
    )

metrics = PredictorMetrics(CollectorRegistry(), multiprocess=True)
metrics.count_predictions("3", 5)
metrics.observe_probabilities([0.1, 0.9])
print(*in_files())
metric_buffer.flush()
print(*in_files())
metrics.count_predictions("3", 1)
metrics.exposition()  # what /metrics runs: this worker's counts first
print(*in_files())
"""


def test_a_workers_counts_reach_the_shared_files_when_flushed_and_before_its_own_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    lines = subprocess.run(
        [sys.executable, "-c", BUFFERED_SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert lines == ["0 0", "5.0 2.0", "6.0 2.0"]
