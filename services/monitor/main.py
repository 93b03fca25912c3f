"""`churnguard monitor`: validate the settings (a bad combination is a clear start-up error), run the loop."""

from __future__ import annotations

import signal
import sys

from pydantic import ValidationError

from services.monitor.settings import MonitorSettings
from services.monitor.watchdog import Monitor


def run_monitor() -> int:
    from services.common.logs import configure_logging

    try:
        settings = MonitorSettings()
    except ValidationError as error:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        print(f"monitor: invalid settings: {problems}", file=sys.stderr)
        return 2
    configure_logging(settings.monitor_log_level)
    monitor = Monitor(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: monitor.stop())
    monitor.run()
    return 0
