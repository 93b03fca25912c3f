"""`churnguard monitor`: validate the settings (a bad combination is a clear start-up error), run the loop."""

from __future__ import annotations

import signal
import sys

from pydantic import ValidationError

from services.common.settings_errors import settings_problems
from services.monitor.notifiers import configured_notifiers
from services.monitor.settings import MonitorSettings
from services.monitor.targets import TargetsFileError, configured_targets
from services.monitor.test_alert import send_test_alerts
from services.monitor.watchdog import Monitor


def load_settings() -> MonitorSettings | None:
    """The settings (targets file included), or None after saying plainly on stderr what is wrong."""
    try:
        settings = MonitorSettings()
        configured_targets(settings)
    except ValidationError as error:
        print(f"monitor: invalid settings: {settings_problems(error)}", file=sys.stderr)
        return None
    except TargetsFileError as error:
        print(f"monitor: invalid settings: {error}", file=sys.stderr)
        return None
    return settings


def run_test_alert() -> int:
    """Exit 0 only when every configured channel delivered."""
    settings = load_settings()
    if settings is None:
        return 2
    notifiers = configured_notifiers(settings)
    if not notifiers:
        print("monitor: no alert channel configured: nothing to test", file=sys.stderr)
        return 2
    lines = send_test_alerts(notifiers)
    print("\n".join(lines))
    return 0 if all(line.endswith(": delivered") for line in lines) else 1


def run_monitor() -> int:
    from services.common.logs import configure_logging

    settings = load_settings()
    if settings is None:
        return 2
    configure_logging(settings.monitor_log_level)
    monitor = Monitor(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: monitor.stop())
    monitor.run()
    return 0
