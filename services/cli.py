"""`churnguard`: one command line that only dispatches to the services (imports stay per command)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# Each settings class's environment prefix, by class name (a ValidationError's title), to name the variable.
SETTINGS_PREFIXES = {
    "TrackerSettings": "CHURNGUARD_",
    "PredictorSettings": "PREDICTOR_",
    "WeeklyListSettings": "PREDICTOR_",
    "WeeklyListJobSettings": "WEEKLY_LIST_",
    "MailCatcherSettings": "MAILCATCHER_",
}


def _tracker(args: argparse.Namespace) -> int:
    from services.tracker.server import run_tracker
    from services.tracker.settings import TrackerSettings

    run_tracker(TrackerSettings(), args.host, args.port, args.data_dir)
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from services.tracker.config import ConfigError, load_config
    from services.tracker.data import DataIntegrityError
    from services.tracker.experiment import run_experiment
    from services.tracker.settings import TrackerSettings

    try:
        config = load_config(args.config, args.set)
        outcome = run_experiment(config, TrackerSettings(), args.config, args.data)
    except (ConfigError, DataIntegrityError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"run_id: {outcome.run_id}")
    print(f"registered: {outcome.model_name} version {outcome.version}")
    print(f"test_roc_auc: {outcome.metrics['test_roc_auc']:.4f}")
    return EXIT_OK


def _promote(args: argparse.Namespace) -> int:
    from services.tracker.registry import PromotionRefused, promote, registry_client
    from services.tracker.settings import TrackerSettings
    from services.tracker.shadow import current_challenger, log_evidence, read_evidence, stop_shadow

    settings = TrackerSettings()
    # The challenger's record on live traffic, printed beside the gate's report and kept on its run.
    evidence = None
    if current_challenger(registry_client(settings), settings) == args.version:
        evidence = read_evidence(settings, args.version)
        log_evidence(settings, args.version, evidence)
    try:
        move = promote(settings, args.version, args.reason)
    except PromotionRefused as error:
        for line in [*(error.report.lines() if error.report else []), *(evidence.lines() if evidence else [])]:
            print(line)
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    for line in [*(move.report.lines() if move.report else []), *(evidence.lines() if evidence else [])]:
        print(line)
    print(f"champion: version {move.version} (was {move.previous or 'none'})")
    if evidence is not None:
        stop_shadow(settings)
        print(f"shadow: stopped (version {move.version} is the champion now)")
    _push_to_predictors()
    return EXIT_OK


def _shadow(args: argparse.Namespace) -> int:
    from services.tracker.settings import TrackerSettings
    from services.tracker.shadow import ShadowRefused, start_shadow, stop_shadow

    settings = TrackerSettings()
    if args.stop:
        if args.version is not None:
            print("error: --stop takes no VERSION", file=sys.stderr)
            return EXIT_USAGE
        stopped = stop_shadow(settings)
        print("shadow: none was set" if stopped is None else f"shadow: stopped (version {stopped})")
    else:
        if args.version is None or args.reason is None:
            print("error: churnguard shadow VERSION --reason TEXT, or churnguard shadow --stop", file=sys.stderr)
            return EXIT_USAGE
        try:
            previous = start_shadow(settings, args.version, args.reason)
        except ShadowRefused as error:
            print(f"refused: {error}", file=sys.stderr)
            return EXIT_REFUSED
        replaced = f" (replaces version {previous})" if previous not in (None, args.version) else ""
        print(f"challenger: version {args.version}{replaced}; predictors score every record with it too")
    _push_to_predictors()
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from services.tracker.registry import PromotionRefused, rollback
    from services.tracker.settings import TrackerSettings

    try:
        move = rollback(TrackerSettings())
    except PromotionRefused as error:
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"champion: version {move.version} (rolled back from {move.previous})")
    _push_to_predictors()
    return EXIT_OK


def _weekly_list_job(args: argparse.Namespace) -> int:
    from services.weekly_list.job import run_job

    return run_job(args.once)


def _drift_report(args: argparse.Namespace) -> int:
    from services.predictor.health.drift_report import write_drift_report
    from services.predictor.settings import PredictorSettings

    settings = PredictorSettings()
    if args.audit_url:
        settings = settings.model_copy(update={"audit_url": args.audit_url})
    written = write_drift_report(settings, args.output, args.version)
    print(f"drift report for version {written.version} ({written.records} recent records): {written.path}")
    print(f"logged on run {written.run_id} (artifacts: drift-reports/{written.path.name})")
    return EXIT_OK


def _backup(args: argparse.Namespace) -> int:
    from services.tracker.backup import BackupError, Sources, backup, restore

    sources = Sources(args.tracker_dir, args.audit_url, args.lists_dir)
    try:
        manifest = backup(sources, args.to) if args.action == "backup" else restore(args.source, sources)
    except BackupError as error:
        print(f"{args.action}: {error}", file=sys.stderr)
        return EXIT_REFUSED
    verb = "backed up into" if args.action == "backup" else "restored from"
    print(f"{len(manifest['files'])} files {verb} {args.to if args.action == 'backup' else args.source}")
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from services.predictor.audit.replay import replay
    from services.predictor.settings import PredictorSettings

    settings = PredictorSettings()
    if args.audit_url:
        settings = settings.model_copy(update={"audit_url": args.audit_url})
    result = replay(args.prediction_id, settings)
    print("\n".join(result.lines))
    return EXIT_OK if result.reproduced else EXIT_REFUSED


def _push_to_predictors() -> None:
    """Each predictor in CHURNGUARD_PREDICTOR_URLS reloads now and says what it serves."""
    from services.tracker.predictor_push import push_reload
    from services.tracker.settings import TrackerSettings

    for result in push_reload(TrackerSettings()):
        print(result.line())


def _reproduce(args: argparse.Namespace) -> int:
    from services.tracker.data import DataIntegrityError
    from services.tracker.reproduce import reproduce
    from services.tracker.settings import TrackerSettings

    try:
        result = reproduce(TrackerSettings(), args.run_id)
    except DataIntegrityError as error:
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    for name, difference in sorted(result.metric_differences.items()):
        print(f"{name}: |difference| = {difference:.3g}")
    print(f"test predictions: max |difference| = {result.max_prediction_difference:.3g}")
    for changed in result.environment_differences:
        print(f"differs from the run: {changed}")
    for problem in result.problems:
        print(f"NOT reproduced: {problem}", file=sys.stderr)
    print("reproduced" if result.reproduced else "not reproduced")
    return EXIT_OK if result.reproduced else EXIT_REFUSED


def _bootstrap(args: argparse.Namespace) -> int:
    from services.tracker.bootstrap import bootstrap
    from services.tracker.data import DataIntegrityError
    from services.tracker.settings import TrackerSettings

    try:
        print(f"champion: version {bootstrap(TrackerSettings(), args.config)}")
    except (DataIntegrityError, TimeoutError) as error:
        print(f"bootstrap failed: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from services.common.settings_errors import settings_problems
    from services.predictor.server import run_server

    try:
        run_server(args.host, args.port, args.workers)
    except ValidationError as error:  # the settings, read before anything starts
        print(f"serve: invalid settings: {settings_problems(error, 'PREDICTOR_')}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _monitor(args: argparse.Namespace) -> int:
    from services.monitor.main import run_monitor, run_test_alert

    return run_test_alert() if args.action == "test-alert" else run_monitor()


def _alertmanager(args: argparse.Namespace) -> int:
    from services.monitor.alertmanager import run_alertmanager

    return run_alertmanager()


def _mailcatcher(args: argparse.Namespace) -> int:
    from services.mailcatcher.main import run_mailcatcher

    return run_mailcatcher()


def _weekly_list(args: argparse.Namespace) -> int:
    from services.weekly_list.client import run_weekly_list

    return run_weekly_list(args.input, args.top, args.output, args.url, args.strict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="churnguard", description="Churn prediction, made reliable.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    tracker = command("tracker", _tracker, "Run the MLflow tracking server.")
    tracker.add_argument("--host")
    tracker.add_argument("--port", type=int)
    tracker.add_argument("--data-dir", type=Path)

    train = command("train", _train, "Run one experiment and register a new model version.")
    train.add_argument("--config", type=Path, required=True)
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    train.add_argument("--data", type=Path, default=None, metavar="CSV", help="another copy of the customer data")

    promote = command("promote", _promote, "Move the champion alias to VERSION if the gate passes.")
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)

    command("rollback", _rollback, "Make the previous champion the champion again.")

    shadow = command(
        "shadow", _shadow, "Score every record with VERSION too (the challenger), never answering with it."
    )
    shadow.add_argument("version", nargs="?")
    shadow.add_argument("--reason", help="why this version is tried (kept on it)")
    shadow.add_argument("--stop", action="store_true", help="remove the challenger")

    reproduce = command("reproduce", _reproduce, "Rebuild a run and compare (exit 0 only when reproduced).")
    reproduce.add_argument("run_id")

    bootstrap = command("bootstrap", _bootstrap, "Train and promote the baseline when there is no champion.")
    bootstrap.add_argument("--config", type=Path, default=Path("experiments/baseline.yaml"))

    serve = command("serve", _serve, "Run the predictor.")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)

    command("alertmanager", _alertmanager, "Run Alertmanager configured from the ALERT_* settings.")
    monitor = command("monitor", _monitor, "Run the watchdog (settings from the environment).")
    monitor.add_argument(
        "action", nargs="?", choices=["test-alert"], help="test-alert: one test message through each channel"
    )
    job = command("weekly-list-job", _weekly_list_job, "Make the weekly list on WEEKLY_LIST_SCHEDULE into the archive.")
    job.add_argument("--once", action="store_true", help="make this week's list now and exit (for cron)")
    drift = command(
        "drift-report", _drift_report, "HTML report of recent inputs against the training data, logged in MLflow."
    )
    drift.add_argument("--output", type=Path, default=Path("drift-report.html"))
    drift.add_argument("--version", help="the model version (default: the one MODEL_URI designates now)")
    drift.add_argument("--audit-url", help="the audit log (default: PREDICTOR_AUDIT_URL, as the predictor)")
    for action, summary in (
        ("backup", "Copy the tracker (database, artifacts), the audit log and the list archive, while running."),
        ("restore", "Put a backup back into empty places (checked against its manifest first)."),
    ):
        parser_ = command(action, _backup, summary)
        parser_.set_defaults(action=action)
        if action == "backup":
            parser_.add_argument("--to", type=Path, required=True, help="a new, empty folder")
        else:
            parser_.add_argument("--from", dest="source", type=Path, required=True)
        parser_.add_argument("--tracker-dir", type=Path, default=Path("var/mlflow"))
        parser_.add_argument("--audit-url", help="sqlite:///PATH or postgresql://... (default: none)")
        parser_.add_argument("--lists-dir", type=Path, help="the weekly list archive (default: none)")
    replay = command(
        "replay", _replay, "Re-score a recorded prediction with its recorded model version (exit 0: reproduced)."
    )
    replay.add_argument("prediction_id")
    replay.add_argument("--audit-url", help="the audit log (default: PREDICTOR_AUDIT_URL, as the predictor)")
    command("mailcatcher", _mailcatcher, "Development SMTP server with a web page showing received alerts.")

    weekly = command(
        "weekly-list", _weekly_list, "Score a customer export (.csv or .xlsx) and write the ranked call list."
    )
    weekly.add_argument("--input", type=Path, required=True, help=".csv (Excel's CSV UTF-8 too) or .xlsx")
    weekly.add_argument("--top", type=int, required=True)
    weekly.add_argument("--output", type=Path, required=True, help=".csv or .xlsx")
    weekly.add_argument("--url")
    weekly.add_argument("--strict", action="store_true", help="any invalid row: exit 1 and no list")
    return parser


def main(argv: list[str] | None = None) -> int:
    from services.common.logs import configure_logging

    configure_logging()
    # MLflow reads this itself: its per-download progress bars would bury the gate's report in a terminal.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    try:
        return int(args.handler(args))
    except ValidationError as error:  # any command's settings, read from the environment: one line, no traceback
        from services.common.settings_errors import settings_problems

        print(
            f"{args.command}: invalid settings: {settings_problems(error, SETTINGS_PREFIXES.get(error.title, ''))}",
            file=sys.stderr,
        )
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
