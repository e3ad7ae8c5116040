"""An incident's record, written from the bot's own tables: its timeline, its figures, a postmortem draft.

Nothing is scraped from Slack: the incident row says who declared, acknowledged and resolved
it and when; its escalation steps say which pages went out, how late, which failed or were
skipped, and carry the notes; the audit log says every command and click run while it was
open, across all channels, with its outcome and duration. So the report is exact to the
second, and the same on every replica.

Bounded on purpose: a week-long incident with thousands of commands still gives a file that
opens (arguments cut, repeats of the same command by the same person grouped) and a Slack
summary inside Block Kit's limits (figures and the last lines only).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bot.config.ops_yml import OpsConfig
from bot.core.audit import AuditRow
from bot.storage.database import BotDatabase
from bot.storage.incidents import INCIDENT_COLUMNS, Incident
from bot.text import times
from bot.text.messages import Catalog

MAX_LINES = 2000
"""Timeline lines in the file; past this the middle is cut (the first and last lines stay)."""
SUMMARY_LINES = 8
MAX_ARGUMENTS = 120
MAX_AUDIT_ROWS = 20_000


@dataclass(frozen=True)
class StepRecord:
    kind: str
    state: str
    due_at: datetime
    fired_at: datetime | None
    late_ms: int | None
    last_error: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class IncidentRecord:
    """Everything the bot recorded about one incident, as read from its tables."""

    incident: Incident
    steps: list[StepRecord]
    audit: list[AuditRow]
    """The rows shown: bounded (MAX_AUDIT_ROWS), every step's flow rows among them."""
    audit_cut: bool = False
    audit_total: int = 0
    """How many audit rows the incident has, shown or not."""
    destructive: Counter[str] | None = None
    """Executed steps by outcome, counted over every row (None: count the rows shown)."""


@dataclass(frozen=True)
class Line:
    """One timeline entry: when, who (a Slack id or None for the bot), and what, in words."""

    at: datetime
    actor: str | None
    text: str
    in_incident_channel: bool = False
    repeats: int = 1
    kept: bool = False
    """A step's flow line (requested, confirmed, executed…): never cut from the middle."""


@dataclass(frozen=True)
class PageFigure:
    user: str
    role: str
    state: str
    late: timedelta | None
    error: str | None


@dataclass(frozen=True)
class Figures:
    time_to_acknowledge: timedelta | None
    time_to_resolve: timedelta | None
    pages: list[PageFigure]
    destructive: Counter[str] = field(default_factory=Counter)


# ---- reading ---------------------------------------------------------------------------


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value) if value else {}


async def gather(db: BotDatabase, incident_id: int, now: datetime) -> IncidentRecord | None:
    """Read the incident, its steps and the audit rows of its open window (declared → resolved)."""
    async with db.connection() as conn:
        row = await conn.fetchrow(f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1", incident_id)
        if row is None:
            return None
        incident = Incident.from_row(row)
        steps = await conn.fetch(
            "SELECT kind, state, due_at, fired_at, late_ms, last_error, payload FROM escalation_steps"
            " WHERE incident_id = $1 ORDER BY position",
            incident_id,
        )
        audit, total, destructive = await _audit_rows(conn, incident, now)
    records = [
        StepRecord(
            r["kind"], r["state"], r["due_at"], r["fired_at"], r["late_ms"], r["last_error"], _json(r["payload"])
        )
        for r in steps
    ]
    return IncidentRecord(
        incident, records, audit, audit_cut=total > len(audit), audit_total=total, destructive=destructive
    )


_COLUMNS = "at, id, user_id, channel_id, source, operation, arguments, decision, outcome, detail, duration_ms"
_MINE = (
    " FROM audit_log WHERE at >= $1 AND at <= $2::timestamptz + interval '5 seconds' AND source <> 'escalation'"
    " AND CASE WHEN operation LIKE 'incident %' THEN"
    "   CASE WHEN jsonb_typeof(arguments -> 'incident') IS DISTINCT FROM 'null'"
    "     AND arguments ? 'incident' THEN arguments ->> 'incident' = $3"
    "   ELSE coalesce(detail ~ $4, false) END"
    " ELSE at <= $2 END"
)
"""The incident's own rows, chosen in the database (belongs_to, in SQL) before anything is bounded."""


async def _audit_rows(
    conn: asyncpg.Connection, incident: Incident, now: datetime
) -> tuple[list[AuditRow], int, Counter[str]]:
    """The incident's rows to show (at most MAX_AUDIT_ROWS), how many it has, and its steps' outcomes.

    Counting and choosing happen over every row of the incident; only what is shown is bounded.
    Rows of a step's flow (any decision but a plain `allowed`) are always shown; the room left
    goes to the first and the last plain commands, as the timeline's own middle cut does."""
    until = incident.resolved_at or now
    mine = (incident.declared_at, until, str(incident.id), rf"\y{re.escape(incident.ref)}\y")
    total = await conn.fetchval(f"SELECT count(*){_MINE}", *mine)
    outcomes = await conn.fetch(
        f"SELECT outcome, count(*) AS n{_MINE} AND decision = 'executed' GROUP BY outcome", *mine
    )
    flow = await conn.fetch(
        f"SELECT {_COLUMNS}{_MINE} AND decision <> 'allowed' ORDER BY at, id LIMIT $5", *mine, MAX_AUDIT_ROWS
    )
    room = MAX_AUDIT_ROWS - len(flow)
    first = await conn.fetch(
        f"SELECT {_COLUMNS}{_MINE} AND decision = 'allowed' ORDER BY at, id LIMIT $5", *mine, room - room // 2
    )
    last = await conn.fetch(
        f"SELECT {_COLUMNS}{_MINE} AND decision = 'allowed' ORDER BY at DESC, id DESC LIMIT $5", *mine, room // 2
    )
    unique = {r["id"]: r for r in [*flow, *first, *last]}
    picked = [
        AuditRow(
            at=r["at"],
            user_id=r["user_id"],
            channel_id=r["channel_id"],
            source=r["source"],
            operation=r["operation"],
            arguments=_json(r["arguments"]),
            decision=r["decision"],
            outcome=r["outcome"],
            detail=r["detail"],
            duration_ms=r["duration_ms"],
        )
        for r in sorted(unique.values(), key=lambda r: (r["at"], r["id"]))
    ]
    return (
        [r for r in picked if belongs_to(r, incident, until)],
        int(total),
        Counter({r["outcome"]: r["n"] for r in outcomes}),
    )


def belongs_to(row: AuditRow, incident: Incident, until: datetime) -> bool:
    """Whether an audit row of the incident's window is part of its record.

    A command about incidents counts only when it names this one (by argument, or, when it
    named none, by the reference in its answer): another incident's declare, ack or note, run
    while this one was open, is that incident's record. Any other command counts while this
    incident was open; the 5 s after its resolution are read only for the resolve's own row,
    which is written just after the incident row."""
    if row.operation.startswith("incident "):
        named = row.arguments.get("incident")
        if named is not None:
            return str(named) == str(incident.id)
        return bool(row.detail and re.search(rf"\b{re.escape(incident.ref)}\b", row.detail))
    return row.at <= until


# ---- the timeline -----------------------------------------------------------------------

SAID_BY_THE_INCIDENT = frozenset(
    {"incident declare", "incident ack", "incident resolve", "incident note", "incident tick"}
)
"""Commands whose effect the incident's own records already give a line (declared, acknowledged…)."""
SAID_BY_THE_FLOW = frozenset({"confirm", "approve", "cancel"})
"""Clicks whose effect the confirmation flow's rows (confirmed, approved, executed…) already say."""


def shown_as_command(row: AuditRow) -> bool:
    """One line per thing that happened: a destructive step is its flow's rows (requested,
    confirmed, approved, executed or cancelled), not also the typed command's `pending` row
    and the Confirm click's own row."""
    if row.operation in SAID_BY_THE_INCIDENT or row.operation in SAID_BY_THE_FLOW:
        return False
    return row.decision != "pending"


def _arguments(row: AuditRow) -> str:
    shown = " ".join(
        str(v) for k, v in row.arguments.items() if k not in ("text", "confirmation") and v not in (None, False, "")
    )
    if not shown and "text" in row.arguments:
        shown = str(row.arguments["text"])
    return shown if len(shown) <= MAX_ARGUMENTS else shown[: MAX_ARGUMENTS - 1] + "…"


def _command_line(row: AuditRow, incident: Incident, t: Catalog, prefix: str) -> Line:
    command = f"{prefix} {row.operation} {_arguments(row)}".strip()
    text = t(
        "report.line.command",
        command=command,
        decision=row.decision,
        outcome=row.outcome,
        duration=f" ({row.duration_ms / 1000:.1f}s)" if row.duration_ms is not None else "",
        source=row.source,
    )
    in_channel = bool(incident.channel_id and row.channel_id == incident.channel_id)
    return Line(row.at, row.user_id, text, in_incident_channel=in_channel, kept=row.decision != "allowed")


def _step_lines(step: StepRecord, incident: Incident, t: Catalog) -> list[Line]:
    p = step.payload
    ended = incident.acknowledged_at if step.state == "stopped" else incident.resolved_at
    if step.kind == "page":
        who = t("report.who", user=p.get("user", "?"), role=p.get("role", "?"))
        if step.state == "done" and step.fired_at is not None:
            late = timedelta(milliseconds=step.late_ms or 0)
            suffix = t("report.late", late=late) if late >= timedelta(seconds=5) else ""
            return [Line(step.fired_at, None, t("report.line.paged", who=who) + suffix)]
        if step.state == "failed":
            when = step.fired_at or step.due_at
            return [Line(when, None, t("report.line.page_failed", who=who, error=step.last_error or "?"))]
        if step.state == "unconfirmed":  # may have arrived: never "pending", never "failed"
            text = t("report.line.page_unconfirmed", who=who, error=step.last_error or "?")
            return [Line(step.fired_at or step.due_at, None, text)]
        if step.state in ("stopped", "cancelled"):  # at the ack or resolution that made it unneeded
            return [Line(ended or step.due_at, None, t(f"report.line.page_{step.state}", who=who))]
        return [Line(step.due_at, None, t("report.line.page_pending", who=who))]
    if step.kind == "announce" and step.fired_at is not None:
        return [Line(step.fired_at, None, t("report.line.thread"))]
    if step.kind == "ticket" and step.fired_at is not None:
        return [Line(step.fired_at, None, t("report.line.ticket"))]
    if step.kind == "checklist" and step.fired_at is not None:
        return [Line(step.fired_at, None, t("report.line.checklist"))]
    if step.kind == "note":
        event = p.get("event")
        if event == "note":
            return [Line(step.due_at, str(p.get("user") or "") or None, t("report.line.note", text=p.get("text", "")))]
        if event == "ticked":
            key = "report.line.ticked" if p.get("done") else "report.line.unticked"
            return [Line(step.due_at, str(p.get("user") or "") or None, t(key, item=p.get("item", "")))]
        if event == "diagnosis":
            return [
                Line(
                    step.due_at,
                    str(p.get("user") or "") or None,
                    t("report.line.diagnosis", section=p.get("section", "")),
                )
            ]
        if event == "webhook_failed":
            return [Line(step.due_at, None, t("report.line.webhook_failed", error=p.get("error", "")))]
    return []


def timeline(record: IncidentRecord, t: Catalog, prefix: str) -> list[Line]:
    """Every recorded event in time order, repeats of one person's same command grouped."""
    incident = record.incident
    lines = [
        Line(
            incident.declared_at,
            incident.declared_by,
            t("report.line.declared", sev=incident.severity.upper(), title=incident.title),
        )
    ]
    for step in record.steps:
        lines.extend(_step_lines(step, incident, t))
    if incident.acknowledged_at is not None:
        lines.append(Line(incident.acknowledged_at, incident.acknowledged_by, t("report.line.acknowledged")))
    if incident.resolved_at is not None:
        note = f": {incident.resolution}" if incident.resolution else ""
        lines.append(Line(incident.resolved_at, incident.resolved_by, t("report.line.resolved", note=note)))
    for row in record.audit:
        if shown_as_command(row):
            lines.append(_command_line(row, incident, t, prefix))
    lines.sort(key=lambda line: line.at)
    return group_repeats(lines)


def group_repeats(lines: list[Line]) -> list[Line]:
    """One line for a run of the same person saying the same thing (a status typed 40 times)."""
    grouped: list[Line] = []
    for line in lines:
        last = grouped[-1] if grouped else None
        if last is not None and last.actor == line.actor and last.text == line.text:
            grouped[-1] = Line(last.at, last.actor, last.text, last.in_incident_channel, last.repeats + 1, last.kept)
        else:
            grouped.append(line)
    return grouped


def figures(record: IncidentRecord) -> Figures:
    incident = record.incident
    pages = [
        PageFigure(
            user=str(s.payload.get("user", "?")),
            role=str(s.payload.get("role", "?")),
            state=s.state,
            late=timedelta(milliseconds=s.late_ms) if s.late_ms is not None else None,
            error=s.last_error if s.state in ("failed", "unconfirmed") else None,
        )
        for s in record.steps
        if s.kind == "page"
    ]
    destructive = record.destructive
    if destructive is None:
        destructive = Counter(row.outcome for row in record.audit if row.decision == "executed")
    return Figures(
        time_to_acknowledge=incident.acknowledged_at - incident.declared_at if incident.acknowledged_at else None,
        time_to_resolve=incident.resolved_at - incident.declared_at if incident.resolved_at else None,
        pages=pages,
        destructive=destructive,
    )


# ---- rendering --------------------------------------------------------------------------


def exact(delta: timedelta | None, t: Catalog) -> str:
    """`4m 05s (245 s)`: readable and exact to the second."""
    if delta is None:
        return t("report.not_yet")
    seconds = int(delta.total_seconds())
    return f"{t.duration(timedelta(seconds=seconds))} ({t.number(seconds)} s)"


def _md(text: str) -> str:
    """Plain text safe inside a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return times.local(moment, tz, "%Y-%m-%d %H:%M:%S")


def _actor(actor: str | None, names: dict[str, str]) -> str:
    if actor is None:
        return "ops-bot"
    return f"{names[actor]} ({actor})" if actor in names else actor


def figure_lines(fig: Figures, t: Catalog) -> list[str]:
    pages = ", ".join(
        f"{p.user} ({p.role}): "
        + (
            t("report.page.sent", late=p.late or timedelta())
            if p.state == "done"
            else t(f"report.page.{p.state}", error=p.error or "?")
            if p.state in ("failed", "unconfirmed")
            else t(f"report.page.{p.state}")
        )
        for p in fig.pages
    )
    destructive = sum(fig.destructive.values())
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(fig.destructive.items())) or "—"
    return [
        t("report.figure.tta", value=exact(fig.time_to_acknowledge, t)),
        t("report.figure.ttr", value=exact(fig.time_to_resolve, t)),
        t("report.figure.pages", count=len(fig.pages), pages=pages or "—"),
        t("report.figure.destructive", count=destructive, outcomes=outcomes),
    ]


def render_markdown(
    record: IncidentRecord, lines: list[Line], fig: Figures, t: Catalog, tz_name: str, names: dict[str, str]
) -> str:
    """The postmortem draft: figures, the timeline as a table, and empty headed sections."""
    incident = record.incident
    tz = ZoneInfo(tz_name)
    out = [
        f"# {t('report.heading', ref=incident.ref, title=_md(incident.title))}",
        "",
        t("report.meta", sev=incident.severity.upper(), state=incident.state),  # the zone: timeline note
        "",
        f"## {t('report.section.figures')}",
        "",
        *(f"- {_md(item)}" for item in figure_lines(fig, t)),
        "",
        f"## {t('report.section.timeline')}",
        "",
        t("report.timeline_note", tz=times.zone_label(tz, incident.declared_at)),
        "",
        f"| {t('report.column.time')} | {t('report.column.who')} | {t('report.column.what')} |",
        "|---|---|---|",
    ]
    for line in cut_middle(lines, t):
        what = _md(line.text)
        if line.repeats > 1:
            what += f" ×{line.repeats}"
        if line.in_incident_channel:
            what += " 🧵"
        out.append(f"| {_when(line.at, tz)} | {_md(_actor(line.actor, names))} | {what} |")
    if record.audit_cut:
        out += ["", t("report.audit_cut_of", count=len(record.audit), total=record.audit_total)]
    for key in ("impact", "root_cause", "went_well", "went_badly", "action_items"):
        out += ["", f"## {t(f'report.section.{key}')}", "", t("report.to_fill")]
    return "\n".join(out) + "\n"


def cut_middle(lines: list[Line], t: Catalog) -> list[Line]:
    """At most about MAX_LINES lines: the first and last half, a marker, and every kept line of the middle."""
    if len(lines) <= MAX_LINES:
        return lines
    half = MAX_LINES // 2
    middle = lines[half:-half]
    kept = [line for line in middle if line.kept][:MAX_LINES]
    marker = Line(middle[0].at, None, t("report.cut", count=len(middle) - len(kept)))
    return [*lines[:half], marker, *kept, *lines[-half:]]


def summary_text(record: IncidentRecord, lines: list[Line], fig: Figures, t: Catalog, tz_name: str) -> str:
    """The Slack summary: the figures and the last lines, short enough for one section block."""
    tz = ZoneInfo(tz_name)
    last = lines[-SUMMARY_LINES:]
    tail = [
        f"{times.local(line.at, tz, '%H:%M:%S')} {_actor(line.actor, {})}: {line.text[:200]}"
        + (f" ×{line.repeats}" if line.repeats > 1 else "")
        for line in last
    ]
    body = "\n".join(f"• {item}" for item in figure_lines(fig, t))
    text = body + "\n" + t("report.last_lines", count=len(last), tz=times.zone_label(tz)) + "\n" + "\n".join(tail)
    return text[:2900]


@dataclass(frozen=True)
class Draft:
    """What a report gives: the Slack summary, the Markdown file and its name."""

    ref: str
    summary: str
    markdown: str

    @property
    def filename(self) -> str:
        return f"{self.ref.lower()}-postmortem.md"


async def draft(db: BotDatabase, incident_id: int, config: OpsConfig, t: Catalog) -> Draft | None:
    """The report of one incident, as `/ops incident report` answers it and its thread receives it."""
    record = await gather(db, incident_id, datetime.now(UTC))
    if record is None:
        return None
    lines = timeline(record, t, config.slack.command)
    fig = figures(record)
    names = {c.slack: c.name for c in config.contacts}
    markdown = render_markdown(record, lines, fig, t, config.timezone, names)
    return Draft(record.incident.ref, summary_text(record, lines, fig, t, config.timezone), markdown)
