"""MONITOR_CONFIG: named targets with conditions; the environment alone stays a valid configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.monitor.settings import MonitorSettings
from services.monitor.targets import TargetsFileError, configured_targets

CHANNEL = {"ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"}


def settings(env: pytest.MonkeyPatch, **values: str) -> MonitorSettings:
    for name, value in {**CHANNEL, **values}.items():
        env.setenv(name, value)
    return MonitorSettings()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "targets.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


MODEL_TARGET = """
targets:
  - name: predictor-model
    url: http://127.0.0.1:8000/model
    bearer_key: a-key
    conditions: ["[BODY].registry.matches == true"]
"""


def test_the_environment_alone_is_a_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    targets = configured_targets(settings(monkeypatch))
    assert [(t.name, t.url, t.conditions) for t in targets] == [("predictor", "http://127.0.0.1:8000/health/ready", ())]


def test_the_file_replaces_the_default_target_and_adds_to_an_explicit_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path, MODEL_TARGET)
    only_file = configured_targets(settings(monkeypatch, MONITOR_CONFIG=path))
    assert [t.name for t in only_file] == ["predictor-model"]
    assert only_file[0].bearer_key == "a-key" and "a-key" not in repr(only_file[0])
    both = configured_targets(
        settings(monkeypatch, MONITOR_CONFIG=path, MONITOR_TARGETS="tracker=http://t:5000/health")
    )
    assert [t.name for t in both] == ["predictor-model", "tracker"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets:\n  - name: x\n    url: http://h/\n    conditions: ['[BODY].a = 1']\n", "targets.0.conditions"),
        ("targets:\n  - name: x\n    url: ftp://h/\n", "targets.0.url"),
        ("targets:\n  - name: x\n    url: http://h/\n    colour: red\n", "targets.0.colour"),
        ("targets:\n  - name: x\n    url: http://h/\n    bearer_key_env: CG_UNSET_KEY\n", "CG_UNSET_KEY is not set"),
        ("targets: [\n", "MONITOR_CONFIG"),
        ("targets:\n  - {name: x, url: 'http://h/'}\n  - {name: x, url: 'http://i/'}\n", "x appear more than once"),
    ],
)
def test_a_bad_file_is_refused_naming_the_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(TargetsFileError, match=message.replace(".", "\\.")):
        configured_targets(settings(monkeypatch, MONITOR_CONFIG=write(tmp_path, text)))


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ("[STATUS] is 200", "condition '[STATUS] is 200' is not `<left> <op> <right>`"),
        ("[STATUS] == glob(2*)", "condition '[STATUS] == glob(2*)': glob() is not understood"),
        ("[STAUTS] == 200", "condition '[STAUTS] == 200': [STAUTS] is not understood"),
    ],
)
def test_churnguard_monitor_exits_2_on_a_bad_condition_naming_the_target_and_quoting_it(
    tmp_path: Path, condition: str, named: str
) -> None:
    path = write(tmp_path, f"targets:\n  - name: lb-certificate\n    url: http://h/\n    conditions: ['{condition}']\n")
    env = {**CHANNEL, "MONITOR_CONFIG": path, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "monitor"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "invalid settings" in done.stderr and f"target lb-certificate: {named}" in done.stderr


def test_push_checks_are_validated_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="weekly-list=7"):
        settings(monkeypatch, MONITOR_PUSH_CHECKS="weekly-list=7")


def test_the_file_reads_variables_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = "targets:\n  - name: m\n    url: ${CG_BASE:-http://127.0.0.1:8000}/model\n    bearer_key: ${CG_KEY:-}\n"
    path = write(tmp_path, text)
    (target,) = configured_targets(settings(monkeypatch, MONITOR_CONFIG=path))
    assert (target.url, target.bearer_key) == ("http://127.0.0.1:8000/model", None)
    (target,) = configured_targets(settings(monkeypatch, CG_BASE="http://predictor:8000", CG_KEY="k1"))
    assert (target.url, target.bearer_key) == ("http://predictor:8000/model", "k1")
    write(tmp_path, "targets:\n  - name: m\n    url: ${CG_NOWHERE}/model\n")
    with pytest.raises(TargetsFileError, match="CG_NOWHERE is not set"):
        configured_targets(settings(monkeypatch))


def test_the_shipped_targets_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    path = str(repo / "deploy/monitor/targets.yml")
    targets = configured_targets(settings(monkeypatch, MONITOR_CONFIG=path, MONITOR_TARGETS="predictor=http://p/"))
    assert [(t.name, t.depends_on) for t in targets] == [("predictor-model", "predictor"), ("predictor", None)]


def test_the_scale_stacks_targets_file_is_valid_and_checks_the_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    path = str(repo / "deploy/monitor/scale-targets.yml")
    targets = configured_targets(
        settings(monkeypatch, MONITOR_CONFIG=path, MONITOR_TARGETS="predictor=https://lb:8443/health/ready")
    )
    certificate = {t.name: t for t in targets}["lb-certificate"]
    assert certificate.url == "https://lb:8443/health/live" and certificate.depends_on == "predictor"
    assert "[CERTIFICATE_EXPIRATION] > 240h" in [c.text for c in certificate.conditions]
    scale = (repo / "deploy/compose/scale.yml").read_text()
    assert "MONITOR_CONFIG: ${MONITOR_CONFIG:-/app/deploy/monitor/scale-targets.yml}" in scale


def test_a_dependency_must_name_a_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n  - {name: m, url: 'http://h/model', depends_on: predictr}\n")
    with pytest.raises(TargetsFileError, match="depends_on 'predictr'"):
        configured_targets(settings(monkeypatch, MONITOR_CONFIG=path, MONITOR_TARGETS="predictor=http://p/"))
