"""The status page: the same facts as GET /status, as one small HTML page (no JavaScript, no build) that
reads well on a phone and refreshes itself every 30 seconds.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from services.common.weekly_list_facts import WeeklyListFacts
from services.monitor.status_view import ChannelView, IncidentView, PushCheckView, StatusView, TargetView

REFRESH_SECONDS = 30
STYLE = """
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2430}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.card{background:#fff;border-radius:.6rem;padding:.8rem 1rem;margin:.5rem 0;box-shadow:0 1px 2px #0002}
.row{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:baseline;justify-content:space-between}
.name{font-weight:600;overflow-wrap:anywhere}.muted{color:#5b6472;font-size:.9rem;overflow-wrap:anywhere}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-weight:700;font-size:.85rem;color:#fff}
.UP{background:#1a7f37}.DOWN{background:#cf222e}.DEGRADED{background:#bf8700}.PAUSED{background:#6e7781}
.UNKNOWN{background:#8c959f}.summary{font-size:1.05rem;font-weight:600}
.notice{border-left:4px solid #bf8700;padding:.4rem .8rem;background:#fff8c5}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:.6rem;overflow:hidden}
td,th{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eaecef;vertical-align:top;overflow-wrap:anywhere}
@media (max-width:40rem){thead{display:none}tr{display:block;border-bottom:1px solid #eaecef}
td{display:block;border:0;padding:.1rem .6rem}
td:nth-child(-n+2){display:inline-block;font-weight:600;padding-top:.5rem}}
"""


def render(status: StatusView) -> str:
    entries = [*status.targets.values(), *status.push_checks.values()]
    trouble = sum(1 for entry in entries if entry.state in ("DOWN", "DEGRADED"))
    summary = "All systems operational" if trouble == 0 else f"{trouble} of {len(entries)} need attention"
    sections = [
        *([f'<p class="notice" id="notice">{escape(status.notice)}</p>'] if status.notice else []),
        f'<p class="summary" id="summary">{escape(summary)}</p>',
        '<h2>Services</h2><div id="targets">',
        *(_target_card(name, entry) for name, entry in status.targets.items()),
        "</div>",
    ]
    if status.push_checks:
        sections += [
            '<h2>Scheduled jobs</h2><div id="push-checks">',
            *(_check_card(name, entry) for name, entry in status.push_checks.items()),
            "</div>",
        ]
    if status.lists_configured:
        sections += ["<h2>Weekly list</h2>", _weekly_list(status.weekly_list)]
    sections += ["<h2>Recent incidents</h2>", _incidents(status.incidents), "<h2>Alert channels</h2>"]
    sections.append(_channels(status.channels))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>churnguard status</title><style>{STYLE}</style></head>
<body><main>
<h1>churnguard status</h1>
{"".join(sections)}
<p class="muted">Generated {escape(_when(status.generated_at))}; refreshes every {REFRESH_SECONDS} s.
The same as JSON: <a href="/status">/status</a>.</p>
</main></body></html>
"""


def _target_card(name: str, entry: TargetView) -> str:
    return _card(name, entry, f"uptime 24 h {_percent(entry.uptime_24h)} · 7 d {_percent(entry.uptime_7d)}")


def _check_card(name: str, entry: PushCheckView) -> str:
    ping = _when(entry.last_ping) if entry.last_ping else "never"
    return _card(name, entry, f"every {entry.period} · last ping {ping} · due by {_when(entry.deadline)}")


def _card(name: str, entry: TargetView, facts: str) -> str:
    state, window = entry.state, entry.maintenance
    since = {"DEGRADED": entry.degraded_since, "PAUSED": window and window.started}.get(state, entry.since)
    lines = [f"{state.lower()} since {_when(since)}" if since else "no result yet", facts]
    if state == "DEGRADED":
        lines.append(f"failing {entry.failure_ratio:.0%} of recent probes")
    if state in ("DOWN", "DEGRADED") and entry.last_reason:
        lines.append(f"reason: {entry.last_reason}")
    if window:
        lines.append(f"maintenance until {_when(window.until)}: {window.reason}")
    details = "".join(f'<div class="muted">{escape(line)}</div>' for line in lines)
    return (
        f'<div class="card" data-target="{escape(name)}"><div class="row"><span class="name">{escape(name)}</span>'
        f'<span class="badge {state}">{state}</span></div>{details}</div>'
    )


def _weekly_list(facts: WeeklyListFacts | None) -> str:
    if facts is None:
        return '<p class="muted" id="weekly-list">No weekly list archived yet.</p>'
    skipped = f", {facts.rows_rejected} rows skipped" if facts.rows_rejected else ""
    if facts.challenger is not None:  # the list is the champion's; the data team was trying another beside it
        skipped += f" (version {facts.challenger} was scored beside it in shadow)"
    return (
        f'<div class="card" id="weekly-list"><div class="row"><span class="name">{escape(facts.iso_week)}'
        f'</span><a href="/lists/latest">Download</a></div>'
        f'<div class="muted">made {escape(_when(facts.made_at))} with model version '
        f"{escape(facts.model_version)}: {facts.customers_listed} customers listed of "
        f"{facts.customers_scored} scored{escape(skipped)}</div>"
        '<div class="muted">The download asks for the admin token (as the password): the list is customer data.'
        "</div></div>"
    )


def _incidents(incidents: list[IncidentView]) -> str:
    if not incidents:
        return '<p class="muted" id="incidents">No incidents recorded.</p>'
    rows = "".join(
        f"<tr><td>{escape(i.target)}</td><td>{escape(i.kind)}</td><td>{escape(_when(i.started))}</td>"
        f"<td>{'ongoing, ' if i.ended is None else ''}{escape(_duration(i.duration_seconds))}</td>"
        f"<td>{escape(i.reason)}</td></tr>"
        for i in incidents[:20]
    )
    head = "<thead><tr><th>Target</th><th>What</th><th>Started</th><th>Lasted</th><th>Why</th></tr></thead>"
    return f'<table id="incidents">{head}<tbody>{rows}</tbody></table>'


BADGES = {"up": ("UP", "DELIVERING"), "degraded": ("DEGRADED", "DEGRADED"), "failing": ("DOWN", "FAILING")}


def _channels(channels: dict[str, ChannelView]) -> str:
    if not channels:
        return '<p class="muted" id="channels">No alert channel configured: nobody is told of an outage.</p>'
    cards = []
    for name, channel in channels.items():
        style, word = BADGES[channel.state]
        lines = [] if channel.up else [f"since {_when(channel.failing_since)}: {channel.last_error}"]
        lines += [f"refused: {recipient}" for recipient in channel.refused_recipients]
        details = "".join(f'<div class="muted">{escape(line)}</div>' for line in lines)
        cards.append(
            f'<div class="card" data-channel="{escape(name)}"><div class="row"><span class="name">{escape(name)}'
            f'</span><span class="badge {style}">{word}</span></div>{details}</div>'
        )
    return f'<div id="channels">{"".join(cards)}</div>'


def _when(value: datetime | None) -> str:
    return "unknown" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
