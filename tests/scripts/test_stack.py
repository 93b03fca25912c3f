"""scripts/stack.py: its own wiring wins over exported service variables; a wrong action gets a usage line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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
