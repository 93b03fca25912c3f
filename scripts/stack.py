"""Run the whole system as local processes, the same services and settings as docker-compose.

    python scripts/stack.py up      # mail catcher, tracker, bootstrap, predictor, monitor, Prometheus
    python scripts/stack.py down    # stop them by PID (SIGTERM, then SIGKILL after a grace period)
    python scripts/stack.py status

Ports, data and logs come from STACK_* variables (defaults: the usual ports, everything under var/).
The stack's wiring (hosts, ports, the tracker's address) always wins over exported service variables,
so the health checks probe what was started; other service variables (MONITOR_*, ALERT_*,
PREDICTOR_*) pass through and override the stack's defaults.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO = Path(__file__).resolve().parents[1]
CHAMPION_READ = "api/2.0/mlflow/registered-models/alias?name=churn-model&alias=champion"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STACK_", extra="ignore")
    var_dir: Path = REPO / "var"
    host: str = "127.0.0.1"
    tracker_port: int = 5000
    predictor_port: int = 8000
    monitor_port: int = 9100
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    mail_smtp_port: int = 1025
    mail_web_port: int = 1080
    scrape_interval: str = "15s"
    start_timeout: float = 180
    # false: no Prometheus, no Alertmanager (no alert rule evaluated; only the watchdog pages), said at start
    local_alerting: bool = Field(True, validation_alias=AliasChoices("CHURNGUARD_LOCAL_ALERTING", "local_alerting"))


@dataclass
class Service:
    name: str
    command: list[str]
    health: str | None
    defaults: dict[str, str] = field(default_factory=dict)  # the environment may override these
    wiring: dict[str, str] = field(default_factory=dict)  # hosts and ports: always the stack's own

    def environment(self, inherited: dict[str, str]) -> dict[str, str]:
        return {**self.defaults, **inherited, **self.wiring}


def services(s: StackSettings) -> list[Service]:
    cli = [sys.executable, "-m", "services.cli"]
    tracker_url = f"http://{s.host}:{s.tracker_port}"
    predictor_url = f"http://{s.host}:{s.predictor_port}"
    listed = [
        Service(
            "mailcatcher",
            [*cli, "mailcatcher"],
            f"http://{s.host}:{s.mail_web_port}/health",
            wiring={
                "MAILCATCHER_HOST": s.host,
                "MAILCATCHER_SMTP_PORT": str(s.mail_smtp_port),
                "MAILCATCHER_WEB_PORT": str(s.mail_web_port),
            },
        ),
        Service(
            "tracker",
            [*cli, "tracker", "--host", s.host, "--port", str(s.tracker_port), "--data-dir", str(s.var_dir / "mlflow")],
            f"{tracker_url}/health",
        ),
        Service("bootstrap", [*cli, "bootstrap"], None, wiring={"MLFLOW_TRACKING_URI": tracker_url}),
        Service(
            "predictor",
            [*cli, "serve", "--host", s.host, "--port", str(s.predictor_port)],
            f"{predictor_url}/health/ready",
            defaults={
                "PREDICTOR_CACHE_DIR": str(s.var_dir / "predictor" / "model-cache"),
                "PREDICTOR_AUDIT_URL": f"sqlite:///{s.var_dir / 'predictor' / 'audit.sqlite3'}",
            },
            wiring={"MLFLOW_TRACKING_URI": tracker_url},
        ),
    ]
    # Every alert reaches the same people: the watchdog and Alertmanager share these defaults.
    # Two channels, so the failure of one is announced through the other: email and the mail catcher's
    # webhook as Slack (both visible at the mail catcher's page).
    alert_defaults = {
        "ALERT_SMTP_HOST": s.host,
        "ALERT_SMTP_PORT": str(s.mail_smtp_port),
        "ALERT_EMAIL_TO": "retention-oncall@localhost",
        "ALERT_SLACK_WEBHOOK_URL": f"http://{s.host}:{s.mail_web_port}/webhook/churnguard",
    }
    # The tracker is checked by a real registry read (its /health answers OK whatever its database).
    targets = [f"predictor={predictor_url}/health/ready", f"tracker={tracker_url}/{CHAMPION_READ}"]
    alertmanager_url = f"http://{s.host}:{s.alertmanager_port}"
    if s.local_alerting:
        listed.append(
            Service(
                "alertmanager",
                [*cli, "alertmanager"],
                f"{alertmanager_url}/-/ready",
                defaults=alert_defaults,
                wiring={
                    "ALERTMANAGER_HOST": s.host,
                    "ALERTMANAGER_PORT": str(s.alertmanager_port),
                    "ALERTMANAGER_DATA_DIR": str(s.var_dir / "alertmanager"),
                },
            )
        )
        targets.append(f"alertmanager={alertmanager_url}/-/ready")
    if s.local_alerting:
        config = write_prometheus_config(s)
        listed.append(
            Service(
                "prometheus",
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={s.var_dir / 'prometheus' / 'data'}",
                    f"--web.listen-address={s.host}:{s.prometheus_port}",
                ],
                f"http://{s.host}:{s.prometheus_port}/-/ready",
            )
        )
        # A real query, answered {"status": "success"}: the watchers watch each other.
        targets.append(f"prometheus=http://{s.host}:{s.prometheus_port}/api/v1/query?query=vector(1)")
    listed.append(
        Service(
            "monitor",
            [*cli, "monitor"],
            f"http://{s.host}:{s.monitor_port}/health",
            defaults={
                "MONITOR_TARGETS": ",".join(targets),
                "MONITOR_CONFIG": str(REPO / "deploy" / "monitor" / "targets.yml"),
                "MONITOR_PREDICTOR_KEY": os.environ.get("PREDICTOR_API_KEYS", "").split(",")[0].strip(),
                "MONITOR_STATE_DIR": str(s.var_dir / "monitor"),
                "MONITOR_ADMIN_TOKEN": secret_file(s, "admin-token"),
                "MONITOR_PUSH_TOKEN": secret_file(s, "push-token"),
                # The scheduled list (cron: README, "For the retention team") pings this push check.
                "MONITOR_PUSH_CHECKS": "weekly-list=7d+1h",
                "MONITOR_LISTS_DIR": str(s.var_dir / "weekly-lists"),
                **alert_defaults,
                **({} if s.local_alerting else {"MONITOR_NOTICE": NO_LOCAL_ALERTING}),
            },
            wiring={
                "MONITOR_PORT": str(s.monitor_port),
                "MONITOR_HOST": s.host,
                "MONITOR_PREDICTOR_URL": predictor_url,
            },
        )
    )
    return listed


def secret_file(s: StackSettings, name: str) -> str:
    """A watchdog token (admin: maintenance windows, archived lists; push: job pings): made once, kept
    private in var/monitor/."""
    path = s.var_dir / "monitor" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def write_prometheus_config(s: StackSettings) -> Path:
    """The compose config with local addresses instead of service names; same rules file."""
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = s.scrape_interval
    config["global"]["evaluation_interval"] = s.scrape_interval
    config["rule_files"] = [str(REPO / "deploy" / "prometheus" / "rules" / "churnguard.yml")]
    ports = {"predictor": s.predictor_port, "monitor": s.monitor_port, "prometheus": s.prometheus_port}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"{s.host}:{ports[job['job_name']]}"]}]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [f"{s.host}:{s.alertmanager_port}"]}]}]
    path = s.var_dir / "prometheus" / "prometheus.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def pid_file(s: StackSettings, name: str) -> Path:
    return s.var_dir / "run" / f"{name}.pid"


def running_pid(s: StackSettings, name: str) -> int | None:
    try:
        pid = int(pid_file(s, name).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: process exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not healthy after {timeout:.0f} s; see {log}")


# Each binary the local alerting needs, and the Debian package that has it.
ALERTING_PACKAGES = {"prometheus": "prometheus", "prometheus-alertmanager": "prometheus-alertmanager"}
NO_LOCAL_ALERTING = (
    "CHURNGUARD_LOCAL_ALERTING=false: no Prometheus and no Alertmanager run, so no alert rule is evaluated "
    "(PredictorDown, AuditBacklog, FeatureDrift, ...); only the watchdog pages"
)


def missing_alerting(s: StackSettings) -> list[str]:
    """The Debian packages of the local alerting that are not installed (none when it is switched off)."""
    if not s.local_alerting:
        return []
    return [package for binary, package in ALERTING_PACKAGES.items() if shutil.which(binary) is None]


def up(s: StackSettings) -> None:
    """Everything, or nothing: a stack without its alerting would let every rule fire into nothing."""
    if missing := missing_alerting(s):
        raise SystemExit(
            f"make up stops: not installed: {', '.join(missing)} (Debian package{'s' if len(missing) > 1 else ''}). "
            f"Install {'them' if len(missing) > 1 else 'it'} as root (`apt-get install {' '.join(missing)}`, or "
            "`bash scripts/system-packages.sh`), or run without local alerting on purpose: "
            "CHURNGUARD_LOCAL_ALERTING=false make up"
        )
    if not s.local_alerting:
        print(NO_LOCAL_ALERTING)
    for directory in ("run", "log"):
        (s.var_dir / directory).mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    for service in services(s):
        log = s.var_dir / "log" / f"{service.name}.log"
        if running_pid(s, service.name):
            print(f"{service.name:12} already running (pid {running_pid(s, service.name)})")
            continue
        env = service.environment(base_env)
        with log.open("ab") as handle:
            if service.health is None:  # one-shot step
                result = subprocess.run(service.command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
                if result.returncode != 0:
                    raise SystemExit(f"{service.name} failed; see {log}")
                print(f"{service.name:12} done")
                continue
            process = subprocess.Popen(
                service.command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        pid_file(s, service.name).write_text(str(process.pid))
        wait_healthy(service.health, process, s.start_timeout, log)
        print(f"{service.name:12} up   {service.health}")
    tokens = s.var_dir / "monitor"
    print(f"status page http://{s.host}:{s.monitor_port}/ (admin token in {tokens / 'admin-token'})")
    print(f"push checks take the token in {tokens / 'push-token'} (WEEKLY_LIST_PUSH_TOKEN for the list job)")
    print(f"logs in {s.var_dir / 'log'}; stop with `make down`")


def down(s: StackSettings) -> None:
    for service in reversed(services(s)):
        pid = running_pid(s, service.name)
        if pid is None:
            pid_file(s, service.name).unlink(missing_ok=True)
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and running_pid(s, service.name):
            time.sleep(0.1)
        if running_pid(s, service.name):
            os.killpg(pid, signal.SIGKILL)
        pid_file(s, service.name).unlink(missing_ok=True)
        print(f"{service.name:12} stopped")


def status(s: StackSettings) -> None:
    for service in services(s):
        pid = running_pid(s, service.name)
        print(f"{service.name:12} {'running pid ' + str(pid) if pid else 'stopped'}")
    if not s.local_alerting:
        print(NO_LOCAL_ALERTING)


ACTIONS = {"up": up, "down": down, "status": status}
USAGE = f"usage: python scripts/stack.py [{'|'.join(ACTIONS)}]"


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0] not in ACTIONS):
        print(f"unknown action {' '.join(argv)!r}\n{USAGE}", file=sys.stderr)
        return 2
    ACTIONS[argv[0] if argv else "status"](StackSettings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
