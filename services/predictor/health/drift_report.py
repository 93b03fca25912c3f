"""`churnguard drift-report`: for the data team, an HTML report of the recent scored inputs against the
training data of the version that scored them (its stored profile: decile bins, category frequencies,
score distribution): one chart and one PSI per feature, worst first. It is logged on the version's MLflow
run (artifacts `drift-reports/`), so the report sits beside the model it judges.

Plots of our own (matplotlib): Evidently would pull its own pins of pandas and friends into this project.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from services.common.model_metadata import NumericProfile, TrainingProfile
from services.predictor.audit.backend import open_backend
from services.predictor.health.drift import UNSEEN, drift_report
from services.predictor.model.registered_model import load_version
from services.predictor.settings import PredictorSettings

ALERT_FEATURE, ALERT_SCORE = 0.2, 0.1
STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:auto;padding:1rem}"
    "table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}"
    "figure{display:inline-block;margin:.5rem}"
)


@dataclass(frozen=True)
class Written:
    path: Path
    version: str
    records: int
    run_id: str


def write_drift_report(settings: PredictorSettings, output: Path, version: str | None) -> Written:
    """The report for `version` (default: the one MODEL_URI designates now), written and logged on its run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)
    name, alias = _name_and_alias(settings.model_uri)
    found = client.get_model_version(name, version) if version else client.get_model_version_by_alias(name, alias)
    model = load_version(settings.mlflow_tracking_uri, name, str(found.version), str(found.run_id))
    recent = open_backend(settings.audit_location).recent(str(found.version), settings.drift_window)
    report = drift_report(model.bundle.profile, str(found.version), recent, settings.drift_window, 1)
    inputs = [json.loads(raw) for raw, _ in recent]
    html = _html(model.bundle.profile, report.as_dict(), inputs, [p for _, p in recent], str(found.version))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    client.log_artifact(str(found.run_id), str(output), "drift-reports")
    return Written(output, str(found.version), len(recent), str(found.run_id))


def _name_and_alias(model_uri: str) -> tuple[str, str]:
    reference = model_uri.removeprefix("models:/")
    name, _, alias = reference.partition("@")
    return name, alias or "champion"


def _html(
    profile: TrainingProfile, report: dict[str, Any], inputs: list[dict[str, Any]], scores: list[float], version: str
) -> str:
    features = sorted(report["features"].items(), key=lambda item: -(item[1] or 0))
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{'n/a' if value is None else f'{value:.3f}'}</td>"
        f"<td>{'DRIFTED' if value is not None and value > ALERT_FEATURE else ''}</td></tr>"
        for name, value in features
    )
    charts = [_chart("score (churn probability)", profile.score, None, scores)] if profile.score else []
    for name, _ in features:
        values = [record.get(name) for record in inputs]
        numeric, frequencies = profile.numeric.get(name), profile.categorical.get(name)
        charts.append(_chart(name, numeric, frequencies, values))
    score = report["score"]
    score_text = "n/a" if score is None else f"{score:.3f}" + (" (DRIFTED)" if score > ALERT_SCORE else "")
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Drift report, version {escape(version)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Drift report: churn-model version {escape(version)}</h1>"
        f"<p>{report['records']} most recent scored records (window {report['window']}) against the training "
        f"data of this version, made {escape(made)}. Population stability index: under 0.1 stable, 0.1 to 0.2 "
        "moving, over 0.2 drifted (the alert rules use 0.2 per feature and 0.1 for the score).</p>"
        f"<p><strong>Score PSI: {score_text}</strong></p>"
        f"<table><thead><tr><th>feature</th><th>PSI</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        f"<h2>Training vs recent, per feature (worst first)</h2>{''.join(charts)}</body></html>\n"
    )


def _chart(name: str, numeric: NumericProfile | None, frequencies: dict[str, float] | None, values: list[Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels, training, recent = _shares(numeric, frequencies, values)
    figure, axes = pyplot.subplots(figsize=(5.2, 2.6), dpi=90)
    positions = range(len(labels))
    axes.bar([p - 0.2 for p in positions], training, width=0.4, label="training")
    axes.bar([p + 0.2 for p in positions], recent, width=0.4, label="recent")
    axes.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=7)
    axes.set_title(name, fontsize=10)
    axes.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<figure><img alt="{escape(name)}: training vs recent" src="data:image/png;base64,{encoded}"></figure>'


def _shares(
    numeric: NumericProfile | None, frequencies: dict[str, float] | None, values: list[Any]
) -> tuple[list[str], list[float], list[float]]:
    import bisect

    if numeric is not None:
        edges = numeric.bin_edges
        bins = len(edges) + 1
        training = numeric.bin_fractions or [1 / bins] * bins
        present = [v for v in values if v is not None]
        counts = [0] * bins
        for value in present:
            counts[bisect.bisect_right(edges, value)] += 1
        bounds = [f"{numeric.min:g}", *(f"{e:g}" for e in edges), f"{numeric.max:g}"]
        labels = [f"{bounds[i]}-{bounds[i + 1]}" for i in range(bins)]
        return labels, training, [c / max(len(present), 1) for c in counts]
    categories = [*(frequencies or {}), UNSEEN]
    seen = [str(v) if str(v) in (frequencies or {}) else UNSEEN for v in values]
    return (
        categories,
        [(frequencies or {}).get(c, 0.0) for c in categories],
        [seen.count(c) / max(len(seen), 1) for c in categories],
    )
