"""Runbook "Escalamiento de Incidentes": declare, acknowledge, resolve and list incidents.

The handlers only record; the escalation worker sends every page and thread message from
the durable queue (bot/incidents/escalation.py), so a restart never loses one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo, model_validator

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation
from bot.incidents import report as incident_report
from bot.output.results import Attachment, Button, Buttons, Fields, Result, Table, Text
from bot.text import times
from bot.text.errors import BotError
from bot.text.messages import Catalog

_REF = re.compile(r"^(?:INC-?)?(\d{1,9})$", re.IGNORECASE)


def _incident_ref(value: Any, info: ValidationInfo) -> Any:
    if value is None or isinstance(value, int):
        return value
    match = _REF.match(str(value).strip())
    if not match:
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("incident.bad_ref"))
    return int(match.group(1))


IncidentRef = Annotated[int, BeforeValidator(_incident_ref)]


def _wake(ctx: OpContext) -> None:
    worker = getattr(ctx.deps, "escalation", None)
    if worker is not None:
        worker.wake()


class DeclareArgs(OpArgs):
    severity: str = positional(metavar="sev1|sev2", max_length=20)
    title: str = positional(metavar="title", greedy=True, min_length=3, max_length=200)


@operation("incident declare", DeclareArgs, role="viewer")
async def declare(ctx: OpContext, args: DeclareArgs) -> Result:
    """Declare an incident: a numbered record, a thread in the incident channel, escalation by policy."""
    t = ctx.t
    severity = args.severity.lower()
    # Stored redacted: the title is paged, threaded and sent to the ticket webhook from the database.
    title = ctx.deps.redact(args.title)
    incident = await ctx.deps.incidents.declare(args.severity, title, ctx.user_id, ctx.channel_id)
    _wake(ctx)
    steps = await ctx.deps.incidents.steps(incident.id)
    tz = times.zone(ctx.config.timezone)
    lines = []
    for step in steps:
        if step.kind not in ("page", "ticket", "checklist"):
            continue
        soon = (step.due_at - incident.declared_at).total_seconds() < 1
        when = (
            t("incident.plan.now")
            if soon
            else t("incident.plan.at", when=times.local(step.due_at, tz, "%Y-%m-%d %H:%M"))
        )
        if step.kind == "page":
            line = t("incident.plan.page", name=step.payload.get("name"), role=step.payload.get("role"), when=when)
        else:
            line = t(f"incident.plan.{step.kind}", when=when)
        lines.append(
            "• " + line + (t("incident.plan.unless") if step.kind == "page" and step.payload.get("escalation") else "")
        )
    blocks: list[Text | Fields] = [
        Text(t("incident.declared", ref=incident.ref, title=incident.title, sev=severity.upper()))
    ]
    if lines:
        blocks.append(Fields([(t("incident.plan"), "\n".join(lines))]))
        blocks.append(Text(t("time.zone_note", zone=times.zone_label(tz))))
    if severity not in ctx.config.escalation.policies:
        blocks.append(Text(t("incident.no_policy", sev=severity.upper(), key=severity)))
    if getattr(ctx.deps, "escalation", None) is None:
        blocks.append(Text(t("incident.no_worker")))
    return Result(
        title=t("incident.declared_title", ref=incident.ref, sev=severity.upper()),
        blocks=list(blocks),
        summary=f"{incident.ref} {severity} {incident.title}",
    )


class RefArgs(OpArgs):
    incident: IncidentRef | None = positional(None, metavar="id")


@operation("incident ack", RefArgs, role="viewer", any_channel=True, aliases=("incident acknowledge",))
async def ack(ctx: OpContext, args: RefArgs) -> Result:
    """Acknowledge an incident: stops the escalation that waits for an ack."""
    incident, stopped = await ctx.deps.incidents.acknowledge(args.incident, ctx.user_id)
    _wake(ctx)
    text = ctx.t("incident.acked", ref=incident.ref, user=ctx.user_id, stopped=stopped)
    return Result(title="", blocks=[Text(text)], summary=text)


def ref_or_words(data: Any, greedy: str) -> Any:
    """For `[id] <text>`: a first word that is not an incident reference (INC-42, 42) is the text's
    first word, so `/ops incident note checked the pool` needs no id while one incident is open."""
    if isinstance(data, dict):
        first = data.get("incident")
        if isinstance(first, str) and not _REF.match(first.strip()):
            rest = data.get(greedy)
            data = {**data, "incident": None, greedy: f"{first} {rest}" if rest else first}
    return data


class ResolveArgs(OpArgs):
    incident: IncidentRef | None = positional(None, metavar="id")
    note: str | None = positional(None, metavar="note", greedy=True, max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _words(cls, data: Any) -> Any:
        return ref_or_words(data, "note")


@operation("incident resolve", ResolveArgs, role="viewer", any_channel=True)
async def resolve(ctx: OpContext, args: ResolveArgs) -> Result:
    """Resolve an incident with a summary: duration, who acknowledged, pages sent."""
    note = ctx.deps.redact(args.note) if args.note else args.note
    incident, summary = await ctx.deps.incidents.resolve(args.incident, ctx.user_id, note)
    _wake(ctx)
    t = ctx.t
    text = t(
        "incident.resolved",
        ref=incident.ref,
        duration=datetime.now(UTC) - incident.declared_at,
        acked=incident.acknowledged_by or t("escalation.nobody"),
        pages=summary["pages"],
    )
    report = await _report(ctx, incident.id)  # the file itself goes into the incident's thread
    figures = [block for block in report.blocks if isinstance(block, Text)]
    return Result(title="", blocks=[Text(text), *figures, Text(t("incident.report_in_thread"))], summary=text)


class NoteArgs(OpArgs):
    incident: IncidentRef | None = positional(None, metavar="id")
    text: str = positional(metavar="text", greedy=True, min_length=1, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _words(cls, data: Any) -> Any:
        return ref_or_words(data, "text")


@operation("incident note", NoteArgs, role="viewer", any_channel=True)
async def note(ctx: OpContext, args: NoteArgs) -> Result:
    """Add a line to an incident's timeline (posted in its thread, kept in its report)."""
    incident = await ctx.deps.incidents.pick(args.incident, ("open", "acknowledged"))
    text = ctx.deps.redact(args.text)
    async with ctx.deps.db.connection() as conn:
        await ctx.deps.incidents.note(conn, incident.id, {"event": "note", "user": ctx.user_id, "text": text})
    _wake(ctx)
    message = ctx.t("incident.noted", ref=incident.ref)
    return Result(title="", blocks=[Text(message)], summary=message)


class ReportArgs(OpArgs):
    incident: IncidentRef | None = positional(None, metavar="id")


@operation("incident report", ReportArgs, role="viewer", any_channel=True)
async def report(ctx: OpContext, args: ReportArgs) -> Result:
    """The incident's timeline (pages, acks, notes, every command run) and a postmortem draft as a file."""
    if args.incident is None:
        latest = await ctx.deps.incidents.recent(limit=1)
        if not latest:
            raise BotError("incident.none_open")
        incident_id = latest[0].id
    else:
        incident_id = args.incident
    return await _report(ctx, incident_id)


async def _report(ctx: OpContext, incident_id: int) -> Result:
    """Summary blocks plus the Markdown draft, built from the bot's own records."""
    t = ctx.t
    found = await incident_report.draft(ctx.deps.db, incident_id, ctx.config, t)
    if found is None:
        raise BotError("incident.not_found", ref=f"INC-{incident_id}")
    return Result(
        title=t("report.title", ref=found.ref),
        blocks=[
            Text(found.summary),
            Attachment(found.filename, found.markdown.encode(), title=t("report.file_title", ref=found.ref)),
        ],
        summary=t("report.title", ref=found.ref),
    )


@operation("incident list", NoArgs, role="viewer")
async def list_incidents(ctx: OpContext, args: NoArgs) -> Result:
    """Open incidents first, then the latest resolved ones."""
    t = ctx.t
    incidents = await ctx.deps.incidents.recent()
    declare_button = Buttons([Button(t("incident.button.declare"), f"{ctx.prefix} incident declare", style="danger")])
    if not incidents:
        return Result(title=t("incident.list_title"), blocks=[Text(t("incident.list_empty")), declare_button])
    tz = times.zone(ctx.config.timezone)
    rows = [
        [
            i.ref,
            i.severity.upper(),
            t.code("incident.state", i.state),
            i.title[:50],
            times.local(i.declared_at, tz, "%m-%d %H:%M"),
            i.acknowledged_by or "-",
        ]
        for i in incidents
    ]
    table = Table(t("incident.list_columns").split("|"), rows)
    zone_note = Text(t("time.zone_note", zone=times.zone_label(tz)))
    return Result(title=t("incident.list_title"), blocks=[table, zone_note, declare_button])


class TickArgs(OpArgs):
    incident: IncidentRef = positional(metavar="id")
    item: int = positional(metavar="item", ge=0, le=100)


@operation("incident tick", TickArgs, role="viewer", any_channel=True, hidden=True)
async def tick(ctx: OpContext, args: TickArgs) -> Result:
    """Tick a checklist item of an incident."""
    text, done = await ctx.deps.incidents.tick(args.incident, args.item, ctx.user_id)
    _wake(ctx)
    message = ctx.t("incident.ticked" if done else "incident.unticked", item=text)
    return Result(title="", blocks=[Text(message)], ephemeral=True, summary=message)
