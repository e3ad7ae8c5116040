"""What an alert group's one Slack message says, and the short lines of its thread.

The message is rebuilt from the stored group every time (never patched), so any replica can
bring it up to date: title and severity, the summary and description annotations, the labels
that tell alerts apart, when it started (one zone), the runbook link, how many fire, the
resolved ones struck through, who is on it, its incident, and at the end "resolved after 12 min".
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.store import AlertGroup
from bot.output.results import Button, Buttons, Result, Text
from bot.output.slack import escape
from bot.text import times
from bot.text.messages import Catalog

SHOWN_ALERTS = 15
STORM_TOP_NAMES = 8
QUIET_LABELS = frozenset({"alertname", "severity", "job", "prometheus", "monitor", "__name__"})
_URL = re.compile(r"^https?://[^\s<>|]+$")
SEVERITY_ICON = {"critical": "🔴", "error": "🔴", "warning": "🟠", "info": "🔵"}


def _when(value: str | None, tz: ZoneInfo) -> str:
    if not value:
        return "?"
    return times.labelled(datetime.fromisoformat(value), tz)


def distinguishing(alert: dict[str, Any], common: dict[str, str]) -> str:
    """The labels that tell this alert from its group's others (instance=api-2)."""
    pairs = [f"{k}={v}" for k, v in sorted(alert["labels"].items()) if k not in QUIET_LABELS and common.get(k) != v]
    return ", ".join(pairs) or ", ".join(f"{k}={v}" for k, v in sorted(alert["labels"].items()) if k != "alertname")


def alert_message(group: AlertGroup, t: Catalog, tz_name: str, prefix: str, section: str | None) -> Result:
    tz = times.zone(tz_name)
    severity = group.labels.get("severity") or next(
        (a["labels"].get("severity") for a in group.alerts.values() if a["labels"].get("severity")), ""
    )
    firing = group.firing
    resolved = [a for a in group.alerts.values() if a["status"] == "resolved"]
    icon = "✅" if group.status == "resolved" else SEVERITY_ICON.get(severity, "🔥")
    head = f"{icon} *{escape(group.name)}*" + (f" · {escape(severity)}" if severity else "")
    lines = [head]
    annotations = group.annotations or next(iter(group.alerts.values()), {}).get("annotations", {})
    for key in ("summary", "description"):
        if annotations.get(key):
            lines.append(escape(annotations[key])[:600])
    starts = sorted(a["starts_at"] for a in group.alerts.values() if a.get("starts_at"))
    lines.append(
        t(
            "alerts.msg.counts",
            firing=len(firing),
            resolved=len(resolved),
            since=_when(starts[0] if starts else None, tz),
        )
    )
    runbook = annotations.get("runbook_url", "")
    if _URL.match(runbook):
        lines.append(f"<{runbook}|{t('alerts.msg.runbook')}>")
    common = {k: v for k, v in group.labels.items()}
    shown = sorted(group.alerts.values(), key=lambda a: (a["status"] != "firing", distinguishing(a, common)))
    for alert in shown[:SHOWN_ALERTS]:
        label = escape(distinguishing(alert, common))
        lines.append(f"• {label}" if alert["status"] == "firing" else f"• ~{label}~ {t('alerts.msg.resolved_one')}")
    if len(shown) > SHOWN_ALERTS:
        lines.append(t("alerts.msg.more", count=len(shown) - SHOWN_ALERTS))
    if group.acked_by:
        lines.append(t("alerts.msg.acked", user=f"<@{group.acked_by}>"))
    if group.incident_id:
        lines.append(t("alerts.msg.incident", ref=f"INC-{group.incident_id}"))
    if group.status == "resolved" and group.resolved_at is not None:
        lines.append(t("alerts.msg.resolved_after", duration=group.resolved_at - group.first_seen))
    blocks: list[Any] = [Text("\n".join(lines), markup=True)]
    if group.status == "firing":
        buttons = []
        if section:
            buttons.append(Button(t("alerts.button.diagnose"), f"{prefix} diagnose {section}"))
        if group.incident_id is None:
            buttons.append(Button(t("alerts.button.declare"), f"{prefix} alerts declare {group.id}", style="danger"))
        if group.acked_by is None:
            buttons.append(Button(t("alerts.button.ack"), f"{prefix} alerts ack {group.id}", style="primary"))
        buttons.append(Button(t("alerts.button.silence", duration="1h"), f"{prefix} alerts silence {group.id} 1h"))
        buttons.append(Button(t("alerts.button.silence", duration="4h"), f"{prefix} alerts silence {group.id} 4h"))
        blocks.append(Buttons(buttons))
    summary = (
        t("alerts.summary.firing", name=group.name, firing=len(firing))
        if group.status == "firing"
        else t("alerts.summary.resolved", name=group.name)
    )
    return Result(title="", blocks=blocks, summary=summary)


def history_line(entry: dict[str, Any], t: Catalog, common: dict[str, str]) -> str:
    label = escape(distinguishing({"labels": entry.get("labels", {})}, common))
    key = "alerts.thread.firing" if entry.get("status") == "firing" else "alerts.thread.resolved"
    return t(key, alert=label)


def message_link(channel: str | None, ts: str | None) -> str:
    if not channel or not ts:
        return ""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def storm_message(counts: Any, t: Catalog, tz_name: str, prefix: str, over: bool = False) -> Result:
    """A storm's one living summary (bot/alerts/storm.py): what fires, by severity and by name."""
    tz = times.zone(tz_name)
    since = times.labelled(counts.started_at, tz) if counts.started_at else "?"
    if over:
        head = t("alerts.storm.over", resolved=counts.resolved, since=since)
    else:
        head = t("alerts.storm.head", count=counts.firing, resolved=counts.resolved, since=since)
    lines = [head]
    if counts.by_severity and not over:
        lines.append(
            " · ".join(
                f"{SEVERITY_ICON.get(sev, '🔥')} {escape(sev or '-')} {t.number(n)}" for sev, n in counts.by_severity
            )
        )
    if counts.top_names and not over:
        top = ", ".join(f"*{escape(name)}* ×{t.number(n)}" for name, n in counts.top_names[:STORM_TOP_NAMES])
        lines.append(t("alerts.storm.top", names=top))
    lines.append(t("alerts.storm.where", command=f"{prefix} alerts"))
    summary = t("alerts.storm.summary", count=counts.firing)
    return Result(title="", blocks=[Text("\n".join(lines), markup=True)], summary=summary)


def storm_lines(rows: list[Any], t: Catalog) -> Result:
    """One thread message of a storm: a short line per group (name, severity, what tells it apart)."""
    lines = []
    for row in rows:
        labels = row["labels"] if isinstance(row["labels"], dict) else json.loads(row["labels"])
        annotations = row["annotations"] if isinstance(row["annotations"], dict) else json.loads(row["annotations"])
        severity = labels.get("severity", "")
        icon = "✅" if row["status"] == "resolved" else SEVERITY_ICON.get(severity, "🔥")
        name = escape(labels.get("alertname") or "alert")
        about = escape(str(annotations.get("summary") or ""))[:60]
        lines.append(
            f"{icon} *{name}*" + (f" · {escape(severity)}" if severity else "") + (f" — {about}" if about else "")
        )
    return Result(
        title="", blocks=[Text("\n".join(lines), markup=True)], summary=t("alerts.storm.listed", count=len(rows))
    )
