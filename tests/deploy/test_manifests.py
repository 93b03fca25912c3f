"""Deployment files checked against their real schemas and rules; each check is shown able to fail."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support import REPO_ROOT
from tests.tools import needs_tool

K8S = REPO_ROOT / "deploy" / "k8s"
PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
K8S_VERSION = "1.30"


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


@pytest.mark.parametrize(("name", "doc"), documents(), ids=[n for n, _ in documents()])
def test_kubernetes_manifests_are_valid_against_the_schemas(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_catches_a_broken_manifest() -> None:
    deployment = next(doc for name, doc in documents() if name.endswith("Deployment/predictor"))
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = {"not": "a port"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_predictor_deployment_probes_and_rollout_as_designed() -> None:
    docs = {name.split(":")[1]: doc for name, doc in documents()}
    spec = docs["Deployment/predictor"]["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/ready"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert {"HorizontalPodAutoscaler/predictor", "PodDisruptionBudget/predictor", "Service/predictor"} <= set(docs)
    for name, doc in docs.items():
        if name.startswith("Deployment/"):
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True, name


@pytest.mark.parametrize(
    "dockerfile",
    sorted(REPO_ROOT.glob("services/*/Dockerfile"))
    + [PROMETHEUS / "Dockerfile", REPO_ROOT / "deploy" / "alertmanager" / "Dockerfile"],
)
def test_every_image_runs_as_a_non_root_user_with_a_healthcheck(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), dockerfile
    assert "HEALTHCHECK" in text and "ARG BASE_IMAGE" in text


def test_compose_wires_every_service_with_local_builds() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "tracker",
        "bootstrap",
        "predictor",
        "monitor",
        "mailcatcher",
        "prometheus",
        "alertmanager",
        "weekly-list",
    }
    assert services["weekly-list"]["environment"]["WEEKLY_LIST_PING_URL"] == "http://monitor:9100/ping/weekly-list"
    assert "weekly-list=" in services["monitor"]["environment"]["MONITOR_PUSH_CHECKS"]
    assert (
        services["alertmanager"]["environment"]["ALERT_SMTP_HOST"]
        == services["monitor"]["environment"]["ALERT_SMTP_HOST"]
    )
    assert services["predictor"]["depends_on"]["tracker"]["condition"] == "service_healthy"
    assert "predictor:8000/health/ready" in services["monitor"]["environment"]["MONITOR_TARGETS"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


promtool = needs_tool("promtool")


@promtool
@pytest.mark.second_lane
def test_prometheus_rules_pass_their_unit_tests() -> None:
    result = subprocess.run(
        ["promtool", "test", "rules", "tests/churnguard_test.yml"], cwd=PROMETHEUS, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@promtool
@pytest.mark.second_lane
@pytest.mark.parametrize(
    ("expression", "weakened", "alert"),
    [
        ('up{job="predictor"} == 0', 'up{job="predictor"} == 2', "PredictorDown"),
        (
            "min by (instance) (churnguard_model_matches_registry) == 0",
            "min by (instance) (churnguard_model_matches_registry) == 2",
            "ModelNotRegistryTarget",
        ),
        # Counting series instead of versions: two replicas on one version would look like a change.
        (
            "count by (name) (count by (name, version) (max_over_time(churnguard_model_info[10m]))) > 1",
            "count by (name) (max_over_time(churnguard_model_info[10m])) > 1",
            "ModelVersionChanged",
        ),
        # Summing replicas: two replicas at 0.15 each would look like a drift of 0.3.
        (
            "max by (feature) (churnguard_feature_drift_psi) > 0.2",
            "sum by (feature) (churnguard_feature_drift_psi) > 0.2",
            "FeatureDrift",
        ),
        ("< 0.2)", "< 0.1)", "AuditDiskFilling"),
        # Without the 3-minute memory, PredictorDown would page a second time as an outage recovers.
        ('target="predictor"}[3m])) == 0', 'target="predictor"}[1m])) == 0', "WatchdogPagesPredictor"),
        (
            "churnguard_audit_oldest_pending_seconds) >= 120",
            "churnguard_audit_oldest_pending_seconds) >= 1200",
            "AuditBacklog",
        ),
    ],
)
def test_a_weakened_rule_fails_its_unit_test(tmp_path: Path, expression: str, weakened: str, alert: str) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    rules = (PROMETHEUS / "rules" / "churnguard.yml").read_text()
    assert expression in rules
    (tmp_path / "rules" / "churnguard.yml").write_text(rules.replace(expression, weakened))
    # Only the unit tests of this alert: the whole file runs hours of series for every rule (~80 s here).
    suite = yaml.safe_load((PROMETHEUS / "tests" / "churnguard_test.yml").read_text())
    suite["tests"] = [t for t in suite["tests"] if any(a["alertname"] == alert for a in t.get("alert_rule_test", []))]
    assert suite["tests"], f"no unit test of {alert}"
    (tmp_path / "tests" / "churnguard_test.yml").write_text(yaml.safe_dump(suite))
    result = subprocess.run(
        ["promtool", "test", "rules", "tests/churnguard_test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0 and alert in result.stdout + result.stderr


@promtool
def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["rule_files"] = [str(PROMETHEUS / "rules" / "churnguard.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_rule_says_what_to_do_first_and_has_a_unit_test() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules" / "churnguard.yml").read_text())
    tested = (PROMETHEUS / "tests" / "churnguard_test.yml").read_text()
    for rule in (rule for group in rules["groups"] for rule in group["rules"]):
        assert rule["annotations"].get("runbook", "").startswith("First: "), rule["alert"]
        assert f"alertname: {rule['alert']}" in tested, rule["alert"]
