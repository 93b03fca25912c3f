"""scripts/stack.py: its own wiring wins over exported service variables; a wrong action gets a usage line."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.support import REPO_ROOT

STACK = REPO_ROOT / "scripts" / "stack.py"


def load_stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stack", STACK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_an_unknown_action_is_refused_with_a_usage_line() -> None:
    result = subprocess.run([sys.executable, str(STACK), "restart"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert "unknown action 'restart'" in result.stderr
    assert "usage: python scripts/stack.py [up|down|status]" in result.stderr


def test_the_stack_ports_win_over_exported_service_variables() -> None:
    stack = load_stack()
    settings = stack.StackSettings(monitor_port=19100, mail_web_port=11080, tracker_port=15000)
    by_name = {service.name: service for service in stack.services(settings)}
    exported = {"MONITOR_PORT": "9999", "MAILCATCHER_WEB_PORT": "8888", "MLFLOW_TRACKING_URI": "http://elsewhere:1"}
    assert by_name["monitor"].environment(exported)["MONITOR_PORT"] == "19100"
    assert by_name["mailcatcher"].environment(exported)["MAILCATCHER_WEB_PORT"] == "11080"
    assert by_name["predictor"].environment(exported)["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:15000"


def test_exported_alert_settings_still_override_the_stack_defaults() -> None:
    stack = load_stack()
    monitor = {service.name: service for service in stack.services(stack.StackSettings())}["monitor"]
    assert monitor.environment({"ALERT_SMTP_HOST": "smtp.example.com"})["ALERT_SMTP_HOST"] == "smtp.example.com"
    assert monitor.environment({})["ALERT_SMTP_HOST"] == "127.0.0.1"


def test_make_up_stops_naming_the_missing_package_rather_than_start_without_alerting(tmp_path: Path) -> None:
    """Found by reading: a stack with Prometheus but no Alertmanager let every rule fire into nothing."""
    only_prometheus = tmp_path / "bin"
    only_prometheus.mkdir()
    (only_prometheus / "prometheus").symlink_to(shutil.which("prometheus") or "/bin/true")
    env = {**os.environ, "PATH": str(only_prometheus), "STACK_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, str(STACK), "up"], capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert result.returncode == 1
    assert "not installed: prometheus-alertmanager (Debian package)" in result.stderr
    assert "CHURNGUARD_LOCAL_ALERTING=false make up" in result.stderr
    assert not (tmp_path / "var" / "run").exists(), "nothing was started"


def test_without_local_alerting_on_purpose_the_stack_says_no_rule_is_evaluated(tmp_path: Path) -> None:
    stack = load_stack()
    settings = stack.StackSettings(local_alerting=False, var_dir=tmp_path)
    assert {service.name for service in stack.services(settings)}.isdisjoint({"prometheus", "alertmanager"})
    assert stack.missing_alerting(settings) == []
    env = {**os.environ, "CHURNGUARD_LOCAL_ALERTING": "false", "STACK_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(STACK), "status"], capture_output=True, text=True, cwd=REPO_ROOT, env=env
    )
    assert result.returncode == 0 and "no alert rule is evaluated" in result.stdout
    monitor = {service.name: service for service in stack.services(settings)}["monitor"]
    notice = monitor.environment({})["MONITOR_NOTICE"]  # the status page says it first (test_status_page)
    assert "no alert rule is evaluated" in notice
