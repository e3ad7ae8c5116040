"""Alerts: what fires now, the alert message's buttons, and real Alertmanager silences.

An alert group's message (bot/alerts/poster.py) carries Diagnose, Declare incident,
Acknowledge and Silence buttons; each is one of these operations, so it gets the same role
check, audit and rendering as typing it. Silences are made through Alertmanager's v2 API
(`stack.alertmanager`), with `createdBy` set to the Slack user who asked.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.alerts.message import message_link
from bot.alerts.poster import declare_for
from bot.alerts.store import AlertGroup, AlertStore
from bot.core.argtypes import DURATION_WORD, positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation
from bot.output.results import Button, Buttons, Result, Table, Text
from bot.targets.alertmanager import Alertmanager, Matcher
from bot.text import times
from bot.text.durations import format_duration, parse_duration
from bot.text.errors import BotError

DEFAULT_SILENCE = timedelta(hours=2)
MAX_SILENCE = timedelta(days=7)
_DURATION = re.compile(rf"^{DURATION_WORD}$")


def _alertmanager(ctx: OpContext) -> Alertmanager:
    configured = ctx.config.stack.alertmanager
    if configured is None:
        raise BotError("alerts.no_alertmanager")
    return Alertmanager(ctx.deps.http, configured.url, configured.timeout.total_seconds())


async def _group(ctx: OpContext, group_id: int) -> AlertGroup:
    group = await AlertStore(ctx.deps.db).get(group_id)
    if group is None:
        raise BotError("alerts.no_group", id=group_id)
    return group


def _bounded(ctx: OpContext, duration: timedelta) -> timedelta:
    if duration <= timedelta(0) or duration > MAX_SILENCE:
        raise BotError("alerts.silence.bad_duration", limit=format_duration(MAX_SILENCE))
    return duration


@operation("alerts", NoArgs, role="viewer")
async def alerts(ctx: OpContext, args: NoArgs) -> Result:
    """What fires now, from the Alertmanager and Grafana webhooks, each with its message."""
    t = ctx.t
    if ctx.config.alerts is None:
        return Result(title=t("alerts.title"), blocks=[Text(t("alerts.not_configured"))])
    firing = await AlertStore(ctx.deps.db).firing()
    if not firing:
        return Result(title=t("alerts.title"), blocks=[Text(t("alerts.none"))], summary=t("alerts.none"))
    rows = [
        [
            str(g.id),
            g.name[:40],
            g.labels.get("severity", ""),
            str(len(g.firing)),
            g.acked_by or "-",
            f"INC-{g.incident_id}" if g.incident_id else "-",
            message_link(g.channel_id, g.ts) or "-",
        ]
        for g in firing
    ]
    return Result(title=t("alerts.title"), blocks=[Table(t("alerts.columns").split("|"), rows)])


class GroupArgs(OpArgs):
    group: int = positional(metavar="group", ge=1, le=10**12)


@operation("alerts ack", GroupArgs, role="viewer", any_channel=True, hidden=True)
async def ack(ctx: OpContext, args: GroupArgs) -> Result:
    """Say you are on an alert: its message shows who."""
    group = await _group(ctx, args.group)
    await AlertStore(ctx.deps.db).set_fields(group.id, acked_by=ctx.user_id)
    text = ctx.t("alerts.acked", alert=group.name, user=ctx.user_id)
    return Result(title="", blocks=[Text(text)], summary=text)


class DeclareArgs(OpArgs):
    group: int = positional(metavar="group", ge=1, le=10**12)
    severity: str | None = positional(None, metavar="sev1|sev2", max_length=20)


@operation("alerts declare", DeclareArgs, role="viewer", any_channel=True, hidden=True)
async def declare(ctx: OpContext, args: DeclareArgs) -> Result:
    """Declare an incident for an alert, linked both ways (no copy-paste)."""
    group = await _group(ctx, args.group)
    if group.incident_id is not None:
        raise BotError("alerts.already_declared", alert=group.name, ref=f"INC-{group.incident_id}")
    severity = (args.severity or ("sev1" if group.labels.get("severity") == "critical" else "sev2")).lower()
    channel = group.channel_id or ctx.channel_id or ""
    incident_id = await declare_for(ctx.deps, group, severity, ctx.user_id, channel, group.ts)
    text = ctx.t("alerts.declared", alert=group.name, ref=f"INC-{incident_id}", sev=severity.upper())
    return Result(title="", blocks=[Text(text)], summary=text)


class GroupSilenceArgs(OpArgs):
    group: int = positional(metavar="group", ge=1, le=10**12)
    duration: str = positional("1h", metavar="1h|4h", pattern=DURATION_WORD, max_length=20)


@operation("alerts silence", GroupSilenceArgs, role="operator", any_channel=True, hidden=True)
async def silence_group(ctx: OpContext, args: GroupSilenceArgs) -> Result:
    """Silence an alert group in Alertmanager for a while (matchers from its labels)."""
    group = await _group(ctx, args.group)
    labels = group.labels or next(iter(group.alerts.values()), {}).get("labels", {})
    matchers = [Matcher(name=k, value=v) for k, v in sorted(labels.items())]
    if not matchers:
        raise BotError("alerts.silence.no_labels", alert=group.name)
    duration = _bounded(ctx, parse_duration(args.duration))
    comment = ctx.t("alerts.silence.comment", alert=group.name, user=ctx.user_id)
    silence_id = await _alertmanager(ctx).create_silence(matchers, duration, ctx.user_id, comment)
    shown = ", ".join(f"{m.name}={m.value}" for m in matchers)
    text = ctx.t("alerts.silenced", matchers=shown, duration=duration, id=silence_id)
    return Result(title="", blocks=[Text(text)], summary=text)


class SilenceArgs(OpArgs):
    alertname: str = positional(metavar="alertname", max_length=200, pattern=r"^[A-Za-z_:][A-Za-z0-9_:.-]*$")
    rest: str | None = positional(None, metavar="[2h] [comment]", greedy=True, max_length=500)


@operation("silence", SilenceArgs, role="operator")
async def silence(ctx: OpContext, args: SilenceArgs) -> Result:
    """Silence an alert by name in Alertmanager (default 2h), with your name and comment on it."""
    words = (args.rest or "").split(maxsplit=1)
    duration = DEFAULT_SILENCE
    if words and _DURATION.match(words[0]):
        duration = parse_duration(words.pop(0))
    duration = _bounded(ctx, duration)
    comment = words[0] if words else ctx.t("alerts.silence.comment", alert=args.alertname, user=ctx.user_id)
    matchers = [Matcher(name="alertname", value=args.alertname)]
    silence_id = await _alertmanager(ctx).create_silence(matchers, duration, ctx.user_id, comment)
    text = ctx.t(
        "alerts.silenced", matchers=f"alertname={args.alertname}", duration=format_duration(duration), id=silence_id
    )
    return Result(title="", blocks=[Text(text)], summary=text)


@operation("silences", NoArgs, role="viewer")
async def silences(ctx: OpContext, args: NoArgs) -> Result:
    """The active Alertmanager silences, each with an Expire button."""
    t = ctx.t
    active = [s for s in await _alertmanager(ctx).silences() if s.state == "active"]
    if not active:
        return Result(title=t("alerts.silences.title"), blocks=[Text(t("alerts.silences.none"))])
    tz = times.zone(ctx.config.timezone)
    rows = [
        [
            s.id[:8],
            ", ".join(f"{m.name}{'=~' if m.isRegex else '='}{m.value}" for m in s.matchers)[:60],
            s.createdBy,
            times.local(s.endsAt, tz),
            s.comment[:40],
        ]
        for s in active
    ]
    buttons = [Button(t("alerts.button.expire", id=s.id[:8]), f"{ctx.prefix} silence expire {s.id}") for s in active]
    return Result(
        title=t("alerts.silences.title"),
        blocks=[
            Table(t("alerts.silences.columns").split("|"), rows),
            Text(t("time.zone_note", zone=times.zone_label(tz))),
            Buttons(buttons[:20]),
        ],
    )


class ExpireArgs(OpArgs):
    id: str = positional(metavar="id", pattern=r"^[0-9a-fA-F-]{8,64}$")


@operation("silence expire", ExpireArgs, role="operator", any_channel=True, hidden=True)
async def expire(ctx: OpContext, args: ExpireArgs) -> Result:
    """Expire an Alertmanager silence now."""
    await _alertmanager(ctx).expire(args.id)
    text = ctx.t("alerts.expired", id=args.id, user=ctx.user_id)
    return Result(title="", blocks=[Text(text)], summary=text)
