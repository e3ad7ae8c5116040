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
Retry-After instead of storming it; the groups wait in the table, not in memory, ranked
(bot/alerts/storm.py): critical groups and rules that declare are leased first and their
sends pass the channel's queue; past a backlog a channel's groups are folded into one
living storm summary. A burst of 429s is logged once when it starts and once when it ends.
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
from bot.alerts.message import alert_message, history_line, storm_lines, storm_message
from bot.alerts.store import ALERTS_CHANNEL, GROUP_COLUMNS, AlertGroup, AlertStore
from bot.alerts.storm import RANK_OTHER, STORM_LEASE, UPDATE_EVERY, URGENT, StormStore, rank_of
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
URGENT_EXTRA = 4
"""Critical groups (and rules that declare) leased beyond IN_FLIGHT when it is full: they never wait for a slot."""
URGENT_TRIES = 5
"""An urgent send waits out this many 429s in place instead of going back to the queue."""
STORM_PART = "storm"
"""The marker part of a storm's summary message (its `steps` list holds the storm's id)."""
STORM_PACE = 1.0
"""Seconds between the starts of two of a storm's own Slack calls: Slack's pace per channel."""


class _Folded(Exception):
    """A storm opened in the group's channel while its first message waited: it joins the storm."""


class MessageSender(Protocol):
    """The part of the escalation's notifier this worker uses (injected, so alerts stay a sibling)."""

    async def post(
        self, channel: str, result: Result, thread_ts: str | None = None, meta: dict[str, Any] | None = None
    ) -> str: ...

    async def find(self, channel: str, thread_ts: str | None, step: int, part: str) -> str | None: ...

    async def update(self, channel: str, ts: str, result: Result) -> None: ...


Dispatch = Callable[[Invocation], Awaitable[Result]]


_EMPTY_GROUP: dict[str, Any] = {
    "source": "",
    "group_key": "",
    "status": "firing",
    "annotations": {},
    "version": 0,
    "posted_version": 0,
    "channel_id": None,
    "ts": None,
    "first_seen": None,
    "updated_at": None,
    "resolved_at": None,
    "incident_id": None,
    "acked_by": None,
    "rule_done": False,
    "history": [],
    "post_attempted": False,
}
"""The rest of a group, for ranking one by its labels and alerts alone."""


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
        self.storms = StormStore(deps.db)
        self._storms: dict[str, int] = {}  # channel -> its open storm
        self._storm_tasks: dict[int, asyncio.Task[None]] = {}
        self._storm_wakes: dict[int, asyncio.Event] = {}
        self._storm_updated: dict[int, float] = {}
        self._urgent_waiting: dict[str, int] = {}
        self._bursts: dict[str, list[float]] = {}  # channel -> [429s, since]: one log line per burst

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = PgListener(self.deps.db.dsn, ALERTS_CHANNEL, self.wake)
        try:
            await asyncio.gather(listener.run(), self._loop())
        finally:  # a storm's task ends with the poster
            for task in self._storm_tasks.values():
                task.cancel()
            await asyncio.gather(*self._storm_tasks.values(), return_exceptions=True)

    async def _loop(self) -> None:
        """Keep up to IN_FLIGHT groups being brought up to date, leasing more as each finishes.

        A pipeline, not batches: one slow Slack call holds its own group only. A group that
        changed while it was in flight wakes the loop when it finishes (see `_sync`)."""
        running: set[asyncio.Task[None]] = set()
        while True:
            self._wake.clear()
            room = IN_FLIGHT - len(running)
            more_due = room == 0  # full: more may be due; not full: a short lease says all due was taken
            try:
                await self._watch_storms()
                # full: only what is urgent (critical, a rule that declares) is leased beyond the slots
                leased = await self.lease_due(room) if room > 0 else await self.lease_due(URGENT_EXTRA, urgent=True)
                for group, history_posted in leased:
                    task = asyncio.create_task(self._sync_guarded(group, history_posted))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if room > 0:
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

    async def lease_due(self, limit: int, urgent: bool = False) -> list[tuple[AlertGroup, int]]:
        """Lease up to `limit` groups whose message is behind (only urgent ones if `urgent`), the
        lowest rank first, new groups before updates; each with how much history it posted.

        The lease also records that a first post is about to be attempted (before it is made);
        the group keeps whether an earlier attempt was made, which decides a lookup first."""
        async with self.deps.db.connection() as conn:
            rows = await conn.fetch(
                "UPDATE alert_groups g SET lease_by = $1, lease_until = now() + make_interval(secs => $2),"
                " post_attempted = g.post_attempted OR g.ts IS NULL"
                " FROM (SELECT id AS due_id, post_attempted AS was_attempted FROM alert_groups"
                " WHERE posted_version < version AND (lease_until IS NULL OR lease_until < now())"
                f"{' AND rank <= 1' if urgent else ''}"
                " ORDER BY rank NULLS LAST, ts IS NOT NULL, updated_at LIMIT $3 FOR UPDATE SKIP LOCKED) due"
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
            # Slack's 429 says when to come back (Retry-After), logged once per burst (`_limited`);
            # any other failure waits RETRY_SECONDS.
            retry_after = getattr(exc, "seconds", None)
            if retry_after is None:
                log.warning("alert group %s not brought up to date: %s", group.id, exc)
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

    async def _send(
        self,
        channel: str,
        lease: HeldLease,
        send: Callable[[], Awaitable[Any]],
        urgent: bool = False,
        may_fold: bool = False,
    ) -> Any:
        """At most CHANNEL_CONCURRENCY sends at a time per channel, all waiting out a 429 that channel got;
        for SERIAL_AFTER_429 seconds after a 429, one at a time (a burst at Slack's pace draws a 429
        per bucket refill, not one per send in flight). None starts unless the group's lease is still
        surely ours (see bot.alerts.lease). An `urgent` send (a critical group, a rule that declares)
        passes the channel's queue and waits out its 429s in place; a first message that `may_fold`
        is not sent when a storm opened in its channel meanwhile (_Folded)."""
        if urgent:
            return await self._send_urgent(channel, lease, send)
        slots = self._channel_slots.setdefault(channel, asyncio.Semaphore(CHANNEL_CONCURRENCY))
        serial = self._channel_serial.setdefault(channel, asyncio.Lock())
        loop = asyncio.get_running_loop()
        async with slots:
            one_at_a_time = loop.time() < self._serial_until.get(channel, 0.0)
            async with serial if one_at_a_time else contextlib.nullcontext():
                while True:  # what is urgent in this channel goes first
                    pause = self._paused_until.get(channel, 0.0) - loop.time()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    elif self._urgent_waiting.get(channel, 0) > 0:
                        await asyncio.sleep(0.1)
                    else:
                        break
                if may_fold and channel in self._storms:
                    raise _Folded()
                lease.check()
                try:
                    result = await send()
                except Exception as exc:
                    seconds = getattr(exc, "seconds", None)  # the notifier's RetryLater (Slack said 429)
                    if seconds is not None:
                        self._limited(channel, float(seconds))
                    raise
                self._unlimited(channel)
                return result

    async def _send_urgent(self, channel: str, lease: HeldLease, send: Callable[[], Awaitable[Any]]) -> Any:
        loop = asyncio.get_running_loop()
        self._urgent_waiting[channel] = self._urgent_waiting.get(channel, 0) + 1
        try:
            for attempt in range(URGENT_TRIES):
                pause = self._paused_until.get(channel, 0.0) - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                lease.check()
                try:
                    result = await send()
                except Exception as exc:
                    seconds = getattr(exc, "seconds", None)
                    if seconds is None or attempt + 1 >= URGENT_TRIES:
                        raise
                    self._limited(channel, float(seconds))
                    continue
                self._unlimited(channel)
                return result
            raise AssertionError("unreachable")
        finally:
            self._urgent_waiting[channel] -= 1

    def _limited(self, channel: str, seconds: float) -> None:
        """Slack said 429 in `channel`: pause it; the first 429 of a burst is logged, the others counted."""
        loop = asyncio.get_running_loop()
        self._paused_until[channel] = max(self._paused_until.get(channel, 0.0), loop.time() + seconds)
        self._serial_until[channel] = loop.time() + SERIAL_AFTER_429
        burst = self._bursts.get(channel)
        if burst is None:
            self._bursts[channel] = [1, loop.time()]
            log.warning(
                "Slack rate-limits %s (429, Retry-After %gs): its alert messages wait, most urgent first",
                channel,
                seconds,
            )
        else:
            burst[0] += 1

    def _unlimited(self, channel: str) -> None:
        """A send went through: a burst of 429s that is over is logged once, with its count."""
        burst = self._bursts.get(channel)
        if burst is not None and asyncio.get_running_loop().time() >= self._paused_until.get(channel, 0.0) + 5.0:
            del self._bursts[channel]
            took = asyncio.get_running_loop().time() - burst[1]
            log.warning("Slack's rate limit on %s: %d calls answered 429 over %.0fs", channel, int(burst[0]), took)

    async def _sync(self, group: AlertGroup, history_posted: int, lease: HeldLease) -> None:
        config = self.deps.config
        channel = group.channel_id
        if not channel:
            raise RuntimeError("no alerts.channel nor slack.incident_channel to post in")
        rule = rule_for(config, group)
        if group.rank is None:  # leased before its rank was written: ranked here, by the same rule
            group = replace(group, rank=rank_of(group, bool(rule and rule.declare)))
        storm_id = self._storms.get(channel)
        if group.ts is None and storm_id is not None and (group.rank == RANK_OTHER or group.storm_id is not None):
            await self._fold(group, storm_id)  # no message of its own: the storm's summary shows it
            return
        urgent = group.rank in URGENT
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
            try:
                ts = await self._first_post(group, channel, lease, message, save_ts_now=more_after_post, urgent=urgent)
            except _Folded:
                await self._fold(group, self._storms[channel])
                return
        else:  # the update and the thread's new lines are independent: both at once
            posted_ts = ts
            fresh = group.history[history_posted:]
            text = "\n".join(history_line(entry, self.t, group.labels) for entry in fresh)
            lines = Result(title="", blocks=[Text(text, markup=True)])
            outcomes = await asyncio.gather(
                self._send(channel, lease, lambda: self.sender.update(channel, posted_ts, message), urgent),
                *(
                    [self._send(channel, lease, lambda: self.sender.post(channel, lines, posted_ts), urgent)]
                    if fresh
                    else []
                ),
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
        self, group: AlertGroup, channel: str, lease: HeldLease, message: Result, save_ts_now: bool, urgent: bool
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
            ts = await self._send(channel, lease, lambda: self.sender.find(channel, None, group.id, ALERT_PART), urgent)
        if ts is None:
            try:
                ts = await self._send(
                    channel,
                    lease,
                    lambda: self.sender.post(channel, message, None, meta),
                    urgent,
                    may_fold=group.rank == RANK_OTHER,
                )
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

    # ---- storms (bot/alerts/storm.py) ------------------------------------------------------

    async def _watch_storms(self) -> None:
        """Rank the groups seen for the first time, open a storm where a channel is flooded, and
        keep one task per open storm writing its summary and thread."""
        unranked = await self.storms.unranked()
        if unranked:
            ranks = []
            for row in unranked:
                group = AlertGroup.from_row({**_EMPTY_GROUP, **dict(row)})
                rule = rule_for(self.deps.config, group)
                ranks.append((int(row["id"]), rank_of(group, bool(rule and rule.declare))))
            await self.storms.rank_new(ranks)
        self._storms = await self.storms.open_where_flooded()
        for channel, storm_id in self._storms.items():
            task = self._storm_tasks.get(storm_id)
            if task is None or task.done():
                self._storm_tasks[storm_id] = asyncio.create_task(self._storm_run(channel, storm_id))

    async def _fold(self, group: AlertGroup, storm_id: int) -> None:
        await self.storms.fold(group, storm_id)
        self._storm_wakes.setdefault(storm_id, asyncio.Event()).set()

    async def _storm_run(self, channel: str, storm_id: int) -> None:
        """Write one storm's summary and thread at Slack's pace, yielding to urgent sends, until it ends."""
        wake = self._storm_wakes.setdefault(storm_id, asyncio.Event())
        loop = asyncio.get_running_loop()
        while self._storms.get(channel) == storm_id:
            wake.clear()
            started = loop.time()
            sent = False
            try:
                storm = await self.storms.lease(storm_id, self.name)
                if storm is not None:
                    async with HeldLease(lambda: self.storms.renew(storm_id, self.name), STORM_LEASE) as lease:
                        sent = await self._storm_step(storm, channel, lease)
            except Exception as exc:
                if getattr(exc, "seconds", None) is None:  # a 429 is logged once per burst (`_limited`)
                    log.warning("alert storm %s in %s not brought up to date: %s", storm_id, channel, exc)
                sent = True  # try again at the pace, not at once
            if sent:
                await asyncio.sleep(max(0.0, STORM_PACE - (loop.time() - started)))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), UPDATE_EVERY)

    async def _storm_step(self, storm: Any, channel: str, lease: HeldLease) -> bool:
        """One Slack call of the storm, the most useful first: its summary, an overdue edit of it,
        the next groups for its thread, the closing edit. False when there was nothing to do."""
        config = self.deps.config
        loop = asyncio.get_running_loop()
        if storm.ts is None:
            counts = await self.storms.counts(storm.id)
            message = storm_message(counts, self.t, config.timezone, config.slack.command)
            ts = None
            if storm.post_attempted:
                ts = await self._send(channel, lease, lambda: self.sender.find(channel, None, storm.id, STORM_PART))
            if ts is None:
                await self.storms.set_fields(storm.id, post_attempted=True)
                meta = marker([storm.id], STORM_PART)
                ts = await self._send(channel, lease, lambda: self.sender.post(channel, message, None, meta))
            await self.storms.set_fields(storm.id, ts=str(ts), posted_version=storm.version)
            self._storm_updated[storm.id] = loop.time()
            return True
        ts = str(storm.ts)
        overdue = loop.time() - self._storm_updated.get(storm.id, 0.0) >= UPDATE_EVERY
        if storm.posted_version < storm.version and overdue:
            counts = await self.storms.counts(storm.id)
            message = storm_message(counts, self.t, config.timezone, config.slack.command)
            await self._send(channel, lease, lambda: self.sender.update(channel, ts, message))
            await self.storms.set_fields(storm.id, posted_version=storm.version)
            self._storm_updated[storm.id] = loop.time()
            return True
        rows = await self.storms.unlisted(storm.id)
        if rows:
            lines = storm_lines(rows, self.t)
            await self._send(channel, lease, lambda: self.sender.post(channel, lines, ts))
            await self.storms.mark_listed([int(r["id"]) for r in rows])
            return True
        if storm.posted_version < storm.version:
            return False  # its edit is not due yet
        if await self.storms.end_if_over(storm.id):
            counts = await self.storms.counts(storm.id)
            message = storm_message(counts, self.t, config.timezone, config.slack.command, over=True)
            self._storms.pop(channel, None)
            with contextlib.suppress(Exception):  # the storm is over either way; its last edit is a nicety
                await self._send(channel, lease, lambda: self.sender.update(channel, ts, message))
        return False

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
