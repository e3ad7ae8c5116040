"""Brings every alert group's one Slack message up to its stored version, on any replica.

The intake only writes the group's row (fast, before Alertmanager's timeout). Here a worker
leases the groups whose message is behind (`posted_version < version`), up to IN_FLIGHT at a
time, renewing each lease while it works on it (bot.alerts.lease),
posts the message once (or `chat.update`s it), adds the new history lines to its thread,
runs the matching rule once (diagnose into the thread, declare an incident), and records the
version it brought the message to. A lease held by a replica that died runs out and another
replica takes the group; a Slack failure keeps the group behind and it is tried again.

Slack allows about one message a second per channel, with bursts: sends to one channel are
bounded (CHANNEL_CONCURRENCY at a time per replica), and a 429 pauses that channel for its
Retry-After instead of storming it; the groups wait in the table, not in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, Protocol

from bot.alerts.lease import LEASE_SECONDS, HeldLease, LeaseLost
from bot.alerts.message import alert_message, history_line
from bot.alerts.store import ALERTS_CHANNEL, GROUP_COLUMNS, AlertGroup, AlertStore
from bot.config.ops_yml import AlertRule, OpsConfig
from bot.core.dispatcher import Invocation
from bot.output.charts import Series, draw_line_chart
from bot.output.markers import marker
from bot.output.results import Result, Text
from bot.storage.pg_listen import PgListener
from bot.targets.prometheus_api import expression_of, query_range
from bot.text.messages import Catalog

log = logging.getLogger(__name__)


ALERT_PART = "alert"
"""The marker part of an alert group's message (its `steps` list holds the group's id)."""
ALERT_USER = "ops-bot"
"""Who runs a rule's diagnose: the bot itself, with the roles that `*` gives."""
RETRY_SECONDS = 5
POLL_SECONDS = 5.0
"""A missed NOTIFY costs at most this long (the poster looks again)."""
IN_FLIGHT = 32
"""Groups being brought up to date at once by one replica (their Slack calls wait per channel)."""
CHANNEL_CONCURRENCY = 8
SERIAL_AFTER_429 = 60.0
CHART_WINDOW = timedelta(hours=1)


class MessageSender(Protocol):
    """The part of the escalation's notifier this worker uses (injected, so alerts stay a sibling)."""

    async def post(
        self, channel: str, result: Result, thread_ts: str | None = None, meta: dict[str, Any] | None = None
    ) -> str: ...

    async def find(self, channel: str, thread_ts: str | None, step: int, part: str) -> str | None: ...

    async def update(self, channel: str, ts: str, result: Result) -> None: ...


Dispatch = Callable[[Invocation], Awaitable[Result]]


def matches(rule: AlertRule, group: AlertGroup) -> bool:
    """Every matcher of the rule holds for the group (its common labels, else any of its alerts)."""
    for label, wanted in rule.match.items():
        values = (
            {group.labels[label]}
            if label in group.labels
            else {a["labels"][label] for a in group.alerts.values() if label in a["labels"]}
        )
        if wanted.startswith("~"):
            pattern = re.compile(wanted[1:])
            if not any(pattern.fullmatch(v) for v in values):
                return False
        elif wanted not in values:
            return False
    return True


def rule_for(config: OpsConfig, group: AlertGroup) -> AlertRule | None:
    if config.alerts is None:
        return None
    return next((rule for rule in config.alerts.rules if matches(rule, group)), None)


class AlertPoster:
    def __init__(self, deps: Any, sender: MessageSender, dispatch: Dispatch, poll: float | None = None) -> None:
        self.deps = deps
        self.sender = sender
        self.dispatch = dispatch
        self.poll = POLL_SECONDS if poll is None else poll
        self.store = AlertStore(deps.db)
        self.name = f"{socket.gethostname()}:{os.getpid()}:alerts"
        self._wake = asyncio.Event()
        self._channel_slots: dict[str, asyncio.Semaphore] = {}
        self._paused_until: dict[str, float] = {}
        self._channel_serial: dict[str, asyncio.Lock] = {}
        self._serial_until: dict[str, float] = {}

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = PgListener(self.deps.db.dsn, ALERTS_CHANNEL, self.wake)
        await asyncio.gather(listener.run(), self._loop())

    async def _loop(self) -> None:
        """Keep up to IN_FLIGHT groups being brought up to date, leasing more as each finishes.

        A pipeline, not batches: one slow Slack call holds its own group only. A group that
        changed while it was in flight wakes the loop when it finishes (see `_sync`)."""
        running: set[asyncio.Task[None]] = set()
        while True:
            self._wake.clear()
            room = IN_FLIGHT - len(running)
            more_due = room == 0  # full: more may be due; not full: a short lease says all due was taken
            if room > 0:
                try:
                    leased = await self.lease_due(room)
                    for group, history_posted in leased:
                        task = asyncio.create_task(self._sync_guarded(group, history_posted))
                        running.add(task)
                        task.add_done_callback(running.discard)
                    more_due = len(leased) == room
                except Exception as exc:  # the database is down, mostly: the groups stay behind, nothing is lost
                    log.warning("alert poster: %s; retrying", exc)
            if more_due and len(running) < IN_FLIGHT:
                continue  # some finished while leasing: lease again at once
            # More due: lease again as soon as one finishes. Otherwise wait for a NOTIFY (a group
            # changed; the rows a short lease skipped as locked notify when they commit) or the poll.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait([waiter, *running] if more_due else [waiter], timeout=self.poll,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                waiter.cancel()

    async def lease_due(self, limit: int) -> list[tuple[AlertGroup, int]]:
        """Lease up to `limit` groups whose message is behind; each with how much history it posted.

        The lease also records that a first post is about to be attempted (before it is made);
        the group keeps whether an earlier attempt was made, which decides a lookup first."""
        async with self.deps.db.connection() as conn:
            rows = await conn.fetch(
                "UPDATE alert_groups g SET lease_by = $1, lease_until = now() + make_interval(secs => $2),"
                " post_attempted = g.post_attempted OR g.ts IS NULL"
                " FROM (SELECT id AS due_id, post_attempted AS was_attempted FROM alert_groups"
                " WHERE posted_version < version AND (lease_until IS NULL OR lease_until < now())"
                " ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED) due"
                f" WHERE g.id = due.due_id RETURNING {GROUP_COLUMNS}, history_posted, was_attempted",
                self.name,
                LEASE_SECONDS,
                limit,
            )
        return [(replace(AlertGroup.from_row(r), post_attempted=r["was_attempted"]), r["history_posted"]) for r in rows]

    async def _renew(self, group_id: int) -> bool:
        """Extend our lease on a group still in its pass; False when it is no longer ours."""
        async with self.deps.db.connection() as conn:
            held = await conn.fetchval(
                "UPDATE alert_groups SET lease_until = now() + make_interval(secs => $3)"
                " WHERE id = $1 AND lease_by = $2 AND lease_until IS NOT NULL RETURNING 1",
                group_id,
                self.name,
                LEASE_SECONDS,
            )
        return held is not None

    async def _sync_guarded(self, group: AlertGroup, history_posted: int) -> None:
        try:
            async with HeldLease(lambda: self._renew(group.id)) as lease:
                await self._sync(group, history_posted, lease)
        except Exception as exc:
            log.warning("alert group %s not brought up to date: %s", group.id, exc)
            # Slack's 429 says when to come back (Retry-After); any other failure waits RETRY_SECONDS.
            retry_after = getattr(exc, "seconds", None)
            retry = RETRY_SECONDS if retry_after is None else max(1.0, float(retry_after))
            with contextlib.suppress(Exception):
                async with self.deps.db.connection() as conn:
                    await conn.execute(
                        "UPDATE alert_groups SET lease_until = now() + make_interval(secs => $2), last_error = $3"
                        " WHERE id = $1 AND lease_by = $4",
                        group.id,
                        retry,
                        self.deps.redact(str(exc))[:300],
                        self.name,
                    )

    async def _send(self, channel: str, lease: HeldLease, send: Callable[[], Awaitable[Any]]) -> Any:
        """At most CHANNEL_CONCURRENCY sends at a time per channel, all waiting out a 429 that channel got;
        for SERIAL_AFTER_429 seconds after a 429, one at a time (a burst at Slack's pace draws a 429
        per bucket refill, not one per send in flight). None starts unless the group's lease is still
        surely ours (see bot.alerts.lease)."""
        slots = self._channel_slots.setdefault(channel, asyncio.Semaphore(CHANNEL_CONCURRENCY))
        serial = self._channel_serial.setdefault(channel, asyncio.Lock())
        loop = asyncio.get_running_loop()
        async with slots:
            one_at_a_time = loop.time() < self._serial_until.get(channel, 0.0)
            async with serial if one_at_a_time else contextlib.nullcontext():
                pause = self._paused_until.get(channel, 0.0) - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                lease.check()
                try:
                    return await send()
                except Exception as exc:
                    seconds = getattr(exc, "seconds", None)  # the notifier's RetryLater (Slack said 429)
                    if seconds is not None:
                        self._paused_until[channel] = loop.time() + float(seconds)
                        self._serial_until[channel] = loop.time() + SERIAL_AFTER_429
                    raise

    async def _sync(self, group: AlertGroup, history_posted: int, lease: HeldLease) -> None:
        config = self.deps.config
        channel = group.channel_id
        if not channel:
            raise RuntimeError("no alerts.channel nor slack.incident_channel to post in")
        rule = rule_for(config, group)
        section = rule.diagnose if rule and rule.diagnose else None
        message = alert_message(group, self.t, config.timezone, config.slack.command, section)
        ts = group.ts
        chart_expr = self._chart_expression(group)
        more_after_post = (
            chart_expr is not None
            or (not group.rule_done and rule is not None)
            or (group.status == "resolved" and group.incident_id is not None)
        )
        if ts is None:  # the first message already shows what fires: no history line with it
            ts = await self._first_post(group, channel, lease, message, save_ts_now=more_after_post)
        else:  # the update and the thread's new lines are independent: both at once
            posted_ts = ts
            fresh = group.history[history_posted:]
            text = "\n".join(history_line(entry, self.t, group.labels) for entry in fresh)
            lines = Result(title="", blocks=[Text(text, markup=True)])
            outcomes = await asyncio.gather(
                self._send(channel, lease, lambda: self.sender.update(channel, posted_ts, message)),
                *([self._send(channel, lease, lambda: self.sender.post(channel, lines, posted_ts))] if fresh else []),
                return_exceptions=True,
            )
            await self._settle(group, outcomes)
        if group.ts is None and chart_expr is not None:
            await self._chart(group, chart_expr, channel, ts, lease)
        if not group.rule_done and rule is not None:
            await self._run_rule(group, rule, channel, ts, lease)
        if group.status == "resolved" and group.incident_id is not None:
            await self._note_incident(group, "alerts_resolved")
        async with self.deps.db.connection() as conn:
            still_behind = await conn.fetchval(
                "UPDATE alert_groups SET posted_version = greatest(posted_version, $2), history_posted = $3,"
                " rule_done = rule_done OR $4, ts = coalesce(ts, $5), lease_until = NULL, last_error = NULL"
                " WHERE id = $1 RETURNING posted_version < version",
                group.id,
                group.version,
                len(group.history),
                rule is not None,
                ts,
            )
        if still_behind:  # it changed while in flight: its next pass is due now, not at the next poll
            self.wake()

    async def _settle(self, group: AlertGroup, outcomes: list[Any]) -> None:
        """Raise what failed of an update and its thread lines; lines that went out are recorded
        first, so the retry that follows a failed update does not post them twice."""
        update, *lines = outcomes
        if isinstance(update, BaseException) and lines and not isinstance(lines[0], BaseException):
            async with self.deps.db.connection() as conn:
                await conn.execute(
                    "UPDATE alert_groups SET history_posted = $2 WHERE id = $1", group.id, len(group.history)
                )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _first_post(
        self, group: AlertGroup, channel: str, lease: HeldLease, message: Result, save_ts_now: bool
    ) -> str:
        """Post the group's message once, even when an earlier attempt's answer was lost.

        The lease recorded the attempt before it is made (`post_attempted`); a later attempt first
        looks in the channel for the group's marker (Slack message metadata), as the escalation
        worker does for pages, so a Slack that delivered but answered too late gets no second
        message. Its ts is saved at once when more work follows in this pass (a chart, a rule);
        otherwise the pass's last write saves it, one round trip fewer in a burst of alerts."""
        meta = marker([group.id], ALERT_PART)
        ts: str | None = None
        if group.post_attempted:
            ts = await self._send(channel, lease, lambda: self.sender.find(channel, None, group.id, ALERT_PART))
        if ts is None:
            try:
                ts = await self._send(channel, lease, lambda: self.sender.post(channel, message, None, meta))
            except Exception as exc:
                if getattr(exc, "seconds", None) is not None and not group.post_attempted:
                    # A 429 posted nothing, and no earlier attempt may have: the retry needs no look-up.
                    async with self.deps.db.connection() as conn:
                        await conn.execute("UPDATE alert_groups SET post_attempted = false WHERE id = $1", group.id)
                raise
        if save_ts_now:
            async with self.deps.db.connection() as conn:  # a later failure in this pass must not post it again
                await conn.execute("UPDATE alert_groups SET ts = $2 WHERE id = $1", group.id, ts)
        return str(ts)

    def _chart_expression(self, group: AlertGroup) -> str | None:
        """The expression a first message's chart draws (from a generatorURL), when charts can be drawn."""
        if group.ts is not None or self.deps.config.stack.prometheus is None or not hasattr(self.sender, "upload"):
            return None
        return (
            next(
                (expression_of(a.get("generator_url") or "") for a in group.alerts.values() if a.get("generator_url")),
                None,
            )
            or None
        )

    async def _chart(self, group: AlertGroup, expr: str, channel: str, ts: str, lease: HeldLease) -> None:
        """The alert's expression over the last hour (from its generatorURL), as a PNG in its thread."""
        prometheus = self.deps.config.stack.prometheus
        upload = getattr(self.sender, "upload", None)
        if prometheus is None or upload is None:
            return
        try:
            found = await query_range(
                self.deps.http, prometheus.url, expr, CHART_WINDOW, prometheus.timeout.total_seconds()
            )
            series = [
                Series(", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or expr, points)
                for labels, points in found[:8]
            ]
            if not any(one.points for one in series):
                return
            title = f"{group.name}: {expr}"[:120]
            png = await draw_line_chart(series, title=title, unit="", tz_name=self.deps.config.timezone)
            await self._send(channel, lease, lambda: upload(channel, ts, f"alert-{group.id}.png", png, title))
        except LeaseLost:
            raise
        except Exception as exc:  # a chart is a nicety: its failure never holds the alert back
            log.warning("chart of alert group %s not posted: %s", group.id, exc)

    async def _run_rule(self, group: AlertGroup, rule: AlertRule, channel: str, ts: str, lease: HeldLease) -> None:
        """A rule runs once per group: its diagnose goes into the thread, its declare opens an incident."""
        prefix = self.deps.config.slack.command
        lease.check()  # a diagnose or a declare runs once: not on a lease that may be another replica's
        if rule.diagnose:
            findings = await self.dispatch(
                Invocation(f"{prefix} diagnose {rule.diagnose}", ALERT_USER, channel, "alert")
            )
            await self._send(channel, lease, lambda: self.sender.post(channel, findings, ts))
        if rule.declare and group.incident_id is None:
            await declare_for(self.deps, group, rule.declare, ALERT_USER, channel, ts)

    async def _note_incident(self, group: AlertGroup, event: str) -> None:
        async with self.deps.db.connection() as conn, conn.transaction():
            done = await conn.fetchval(
                "SELECT 1 FROM escalation_steps WHERE incident_id = $1 AND kind = 'note'"
                " AND payload->>'event' = $2 AND payload->>'group' = $3",
                group.incident_id,
                event,
                str(group.id),
            )
            if not done:
                await self.deps.incidents.note(
                    conn, group.incident_id, {"event": event, "group": str(group.id), "alert": group.name}
                )
        if self.deps.escalation is not None:
            self.deps.escalation.wake()


async def declare_for(deps: Any, group: AlertGroup, severity: str, user: str, channel: str, ts: str | None) -> int:
    """Declare an incident for an alert group and link both ways (the group shows it, its thread says it)."""
    summary = group.annotations.get("summary") or next(
        (a["annotations"].get("summary") for a in group.alerts.values() if a["annotations"].get("summary")), ""
    )
    title = deps.redact(f"{group.name}: {summary}" if summary else group.name)[:200]
    incident = await deps.incidents.declare(severity, title, user, channel)
    await AlertStore(deps.db).set_fields(group.id, incident_id=incident.id)
    from bot.alerts.message import message_link

    async with deps.db.connection() as conn:
        await deps.incidents.note(
            conn, incident.id, {"event": "alert_linked", "alert": group.name, "link": message_link(channel, ts)}
        )
    if deps.escalation is not None:
        deps.escalation.wake()
    return int(incident.id)
