"""The escalation worker: sends due incident steps, each exactly once, even across replicas.

Each round claims a batch of due steps with `SELECT … FOR UPDATE SKIP LOCKED` inside a
transaction, sends them concurrently, and marks them done in that same transaction. Another
replica skips the locked rows; a crash rolls the transaction back so the steps are still
pending and fire when any replica runs again (saying how late they are). A 429 moves a step
to after Retry-After, any other failure backs off; a step is marked done only after Slack
confirmed it. Nobody polls for due times: a timer wakes the loops when the next step falls
due, and a NOTIFY when another replica writes steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg

from bot.audit import AuditEntry
from bot.database import SerialConnection
from bot.deps import Deps
from bot.durations import format_duration
from bot.errors import UnavailableError
from bot.incidents import INCIDENT_COLUMNS, STEPS_CHANNEL, Clock, Incident, PlannedStep, utcnow
from bot.messages import Catalog
from bot.notify import Notifier, NotifyFailed, RetryLater
from bot.pg_listen import PgListener
from bot.render_slack import escape
from bot.results import Button, Buttons, Result, Text
from bot.worker import stop_if_cancelled

log = logging.getLogger(__name__)

LATE_NOTICE = timedelta(seconds=5)
MAX_BACKOFF = 300.0
WEBHOOK_TIMEOUT = 5.0


@dataclass(frozen=True)
class WebhookRetry:
    """When a failed ticket webhook is tried again: `first` seconds after the first failure,
    doubling up to `cap` between tries, for `window` after it first fell due. A ticket system
    down for a morning still gets its ticket; one down for a day is given up, and the ticket's
    `webhook_state` says `failed` (the step's `last_error` says why)."""

    first: float = 2.0
    cap: float = 900.0
    window: timedelta = timedelta(hours=24)

    def delay(self, attempts: int) -> float:
        """Seconds before the next try, after `attempts` failed ones (counted from 0)."""
        return float(min(self.cap, self.first * 2 ** min(attempts, 30)))


WEBHOOK_RETRY = WebhookRetry()

_CLAIM = f"""
SELECT s.id, s.incident_id, s.position, s.kind, s.payload, s.due_at, s.unless_ack, s.attempts,
       i.state AS incident_state, i.channel_id, i.thread_ts,
       {", ".join(f"i.{c} AS i_{c}" for c in INCIDENT_COLUMNS.replace(" ", "").split(","))}
FROM escalation_steps s LEFT JOIN incidents i ON i.id = s.incident_id
WHERE s.state = 'pending' AND s.due_at <= $1
  AND (s.kind = 'announce' OR s.incident_id IS NULL OR i.thread_ts IS NOT NULL)
ORDER BY s.due_at, s.id
FOR UPDATE OF s SKIP LOCKED
LIMIT $2
"""


_MARK_DONE = (
    "UPDATE escalation_steps SET state = 'done', fired_at = $2, fired_by = $3, late_ms = $4,"
    " result = $5::jsonb, attempts = attempts + 1 WHERE id = $1"
)


@dataclass(frozen=True)
class Outcome:
    """What a sent step leaves to write once its batch is through: its done mark (id, fired
    at, by, late ms, result) and, for a page, its audit row."""

    done: tuple[int, datetime, str, int, str] | None = None
    audit: AuditEntry | None = None


@dataclass
class BatchEffects:
    """What the steps of one batch leave for the batch to do once they are all sent: the
    threads announced (one UPDATE for all) and the thread mentions of pages, one message per
    incident however many of its people were paged in the batch."""

    threads: list[tuple[int, str]] = field(default_factory=list)
    mentions: dict[tuple[str, str | None, int], list[dict[str, Any]]] = field(default_factory=dict)


def first_due_of(row: asyncpg.Record, payload: dict[str, Any]) -> datetime:
    """When the step was first due: a retried step keeps it, so its lateness counts from there."""
    return datetime.fromisoformat(payload["first_due"]) if "first_due" in payload else row["due_at"]


def ticket_id_of(payload: dict[str, Any]) -> int:
    """The tickets row a webhook step reports (its body names it TCK-n)."""
    return int(str(payload.get("ticket", "TCK-0")).removeprefix("TCK-"))


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 9))


def thread_link(channel: str | None, ts: str | None) -> str:
    if not channel or not ts:
        return ""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


class EscalationWorker:
    def __init__(
        self,
        deps: Deps,
        notifier: Notifier,
        clock: Clock = utcnow,
        poll: float = 1.0,
        batch: int = 25,
        concurrency: int = 4,
    ) -> None:
        self.deps = deps
        self.notifier = notifier
        self.clock = clock
        self.poll = poll
        self.batch = batch
        self.concurrency = concurrency
        self.webhook_retry = WEBHOOK_RETRY
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._due = asyncio.Event()  # loops: look for due steps now
        self._changed = asyncio.Event()  # timer: the earliest due time may have changed
        self._generation = 0

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    def wake(self) -> None:
        """Look for due steps now, and again when the next one falls due (after a declare or an
        ack in this process: either may have added or removed the earliest step)."""
        self._changed.set()
        self._signal()

    def _signal(self) -> None:
        self._generation += 1
        self._due.set()

    async def run(self) -> None:
        listener = PgListener(self.deps.db.dsn, STEPS_CHANNEL, self.wake)
        await asyncio.gather(listener.run(), self._timer(), *(self._loop() for _ in range(self.concurrency)))

    async def _timer(self) -> None:
        """Wake the loops at the moment the next pending step falls due: a step waits for no
        poll interval (the interval stays, as a safety net for steps other replicas add)."""
        while True:
            self._changed.clear()
            delay = self.poll
            try:
                next_due = await self._next_due()
            except (UnavailableError, asyncpg.PostgresError, OSError):
                stop_if_cancelled()
                next_due = None
            if next_due is not None:
                delay = min(self.poll, max(0.0, (next_due - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)
            self._signal()

    async def _next_due(self) -> datetime | None:
        async with self.deps.db.connection() as conn:
            due: datetime | None = await conn.fetchval(
                "SELECT min(due_at) FROM escalation_steps WHERE state = 'pending' AND due_at > $1", self.clock()
            )
        return due

    async def _loop(self) -> None:
        while True:
            seen = self._generation
            try:
                fired = await self.fire_due()
            except (UnavailableError, asyncpg.PostgresError, OSError) as exc:
                stop_if_cancelled()
                log.warning("escalation worker: bot database unavailable (%s); retrying", exc)
                fired = 0
            except Exception:
                stop_if_cancelled()
                log.exception("escalation worker round failed")
                fired = 0
            if fired:  # its commit may have made more claimable (pages wait for their thread): all look
                self._signal()
                continue
            if self._generation != seen:  # a wake came during the round
                continue
            self._due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.poll)

    async def fire_due(self) -> int:
        """One round: up to `batch` due steps claimed in one transaction, sent concurrently, and
        committed together with their done marks and side effects (threads, tickets).

        Another replica skips the locked rows. A crash before the commit rolls the batch back,
        so every step in it fires again; only those whose Slack call had already answered repeat."""
        async with self.deps.db.connection() as conn:
            async with conn.transaction():
                rows = await conn.fetch(_CLAIM, self.clock(), self.batch)
                if not rows:
                    return 0
                shared = SerialConnection(conn)
                effects = BatchEffects()
                # every send ends before the transaction does, even when one fails: none may
                # still be writing through a connection rolled back and returned to the pool
                settled = await asyncio.gather(
                    *(self._fire_guarded(shared, row, effects) for row in rows), return_exceptions=True
                )
                failed = [error for error in settled if isinstance(error, BaseException)]
                if failed:
                    raise failed[0]
                outcomes = [outcome for outcome in settled if isinstance(outcome, Outcome)]
                await self._post_mentions(shared, effects)
                if effects.threads:
                    await conn.executemany("UPDATE incidents SET thread_ts = $2 WHERE id = $1", effects.threads)
                done = [outcome.done for outcome in outcomes if outcome.done is not None]
                if done:
                    await conn.executemany(_MARK_DONE, done)
            audits = [outcome.audit for outcome in outcomes if outcome.audit is not None]
            if audits:  # after the commit: a failed audit row never un-sends a page
                await self._write_audits(conn, audits)
        return len(rows)

    async def _post_mentions(self, conn: SerialConnection, effects: BatchEffects) -> None:
        """The thread lines of the batch's pages; a line Slack refuses is queued as a note."""

        async def post(channel: str, thread: str | None, incident_id: int, lines: list[dict[str, Any]]) -> None:
            text = "\n".join(self._note_text(mention) for mention in lines)
            try:
                await self.notifier.post(channel, Result(title="", blocks=[Text(text, markup=True)]), thread)
            except (NotifyFailed, RetryLater):
                for mention in lines:
                    await self.deps.incidents.note(conn, incident_id, mention)

        await asyncio.gather(*(post(*where, lines) for where, lines in effects.mentions.items()))

    async def _fire_guarded(self, conn: SerialConnection, row: asyncpg.Record, effects: BatchEffects) -> Outcome:
        """A bug in one step must not roll back the pages its batch already sent."""
        try:
            return await self._fire_one(conn, row, effects)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, UnavailableError, OSError):
            raise  # the transaction is lost anyway: the batch fires again once the database answers
        except Exception as exc:
            stop_if_cancelled()
            log.exception("step %s (%s) failed", row["id"], row["kind"])
            payload: dict[str, Any] = json.loads(row["payload"])
            error = f"internal error: {type(exc).__name__}"
            await self._reschedule(conn, row, payload, first_due_of(row, payload), backoff(row["attempts"]), error)
            return Outcome()

    async def _fire_one(self, conn: SerialConnection, row: asyncpg.Record, effects: BatchEffects) -> Outcome:
        """Send one claimed step inside its batch's transaction."""
        payload: dict[str, Any] = json.loads(row["payload"])
        kind = row["kind"]
        if row["incident_id"] is not None and kind in ("page", "ticket", "checklist"):
            if row["incident_state"] == "resolved":
                await conn.execute("UPDATE escalation_steps SET state = 'cancelled' WHERE id = $1", row["id"])
                return Outcome()
            if row["unless_ack"] and row["incident_state"] == "acknowledged":
                await conn.execute("UPDATE escalation_steps SET state = 'stopped' WHERE id = $1", row["id"])
                return Outcome()
        first_due = first_due_of(row, payload)
        now = self.clock()
        late = now - first_due
        try:
            result = await self._send(conn, row, payload, late, effects)
        except RetryLater as exc:
            await self._reschedule(conn, row, payload, first_due, exc.seconds, str(exc))
            return Outcome()
        except NotifyFailed as exc:
            error = self.deps.redact(str(exc))
            if kind == "webhook":
                delay = self.webhook_retry.delay(row["attempts"])
                if now + timedelta(seconds=delay) - first_due > self.webhook_retry.window:
                    await self._give_up_webhook(conn, row, payload, error)
                else:
                    await self._reschedule(conn, row, payload, first_due, delay, error)
                return Outcome()
            await self._reschedule(conn, row, payload, first_due, backoff(row["attempts"]), error)
            return Outcome()
        done = (row["id"], now, self.name, int(late.total_seconds() * 1000), json.dumps(result))
        return Outcome(done=done, audit=self._page_audit(row, payload, late) if kind == "page" else None)

    async def _reschedule(
        self,
        conn: SerialConnection,
        row: asyncpg.Record,
        payload: dict[str, Any],
        first_due: datetime,
        seconds: float,
        error: str,
    ) -> None:
        payload = {**payload, "first_due": first_due.isoformat()}
        await conn.execute(
            "UPDATE escalation_steps SET due_at = $2, attempts = attempts + 1, last_error = $3, payload = $4::jsonb"
            " WHERE id = $1",
            row["id"],
            self.clock() + timedelta(seconds=seconds),
            error[:500],
            json.dumps(payload),
        )
        log.warning("step %s (%s) not sent: %s; retry in %.1fs", row["id"], row["kind"], error, seconds)

    async def _give_up_webhook(
        self, conn: SerialConnection, row: asyncpg.Record, payload: dict[str, Any], error: str
    ) -> None:
        await conn.execute(
            "UPDATE escalation_steps SET state = 'failed', last_error = $2, attempts = attempts + 1 WHERE id = $1",
            row["id"],
            error[:500],
        )
        await conn.execute("UPDATE tickets SET webhook_state = 'failed' WHERE id = $1", ticket_id_of(payload))
        log.error(
            "ticket webhook for %s given up after %d tries: %s", payload.get("ticket"), row["attempts"] + 1, error
        )
        await self.deps.incidents.note(conn, row["incident_id"], {"event": "webhook_failed", "error": error[:200]})

    def _page_audit(self, row: asyncpg.Record, payload: dict[str, Any], late: timedelta) -> AuditEntry:
        return AuditEntry(
            request_id=f"INC-{row['incident_id']}-step-{row['id']}",
            user_id="ops-bot",
            channel_id=row["channel_id"],
            source="escalation",
            operation="incident escalate" if payload.get("escalation") else "incident page",
            arguments={"incident": row["incident_id"], "user": payload.get("user"), "role": payload.get("role")},
            decision="policy",
            outcome="ok",
            detail=f"late {format_duration(late)}" if late > LATE_NOTICE else None,
            duration_ms=None,
        )

    async def _write_audits(self, conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
        try:
            await self.deps.audit.record_many(entries, conn)
        except (UnavailableError, asyncpg.PostgresError, OSError) as exc:
            log.error("%d audit rows (%s…) not written: %s", len(entries), entries[0].request_id, exc)

    # ---- what each kind sends --------------------------------------------------------

    def _late_suffix(self, late: timedelta) -> str:
        return self.t("escalation.late", late=format_duration(late)) if late > LATE_NOTICE else ""

    async def _send(
        self,
        conn: SerialConnection,
        row: asyncpg.Record,
        payload: dict[str, Any],
        late: timedelta,
        effects: BatchEffects,
    ) -> dict[str, Any]:
        kind = row["kind"]
        t = self.t
        prefix = self.deps.config.slack.command
        if kind == "note" and row["incident_id"] is None:
            channel = self.deps.config.slack.incident_channel
            if not channel:
                return {"skipped": "no incident_channel"}
            ts = await self.notifier.post(
                channel, Result(title="", blocks=[Text(self._note_text(payload), markup=True)])
            )
            return {"ts": ts}
        incident = Incident.from_row(row, prefix="i_")  # joined by the claim
        sev = incident.severity.upper()
        title = escape(incident.title)
        if kind == "announce":
            channel = incident.channel_id
            if not channel:
                raise NotifyFailed("no incident channel to announce in")
            text = t("escalation.announce", ref=incident.ref, sev=sev, title=title, user=f"<@{incident.declared_by}>")
            result = Result(
                title="",
                blocks=[
                    Text(text + self._late_suffix(late), markup=True),
                    Buttons(
                        [
                            Button(t("incident.button.ack"), f"{prefix} incident ack {incident.id}", style="primary"),
                            Button(t("incident.button.resolve"), f"{prefix} incident resolve {incident.id}"),
                        ]
                    ),
                ],
                summary=f"{incident.ref} {sev} {incident.title}",
            )
            ts = await self.notifier.post(channel, result)
            effects.threads.append((incident.id, ts))
            return {"ts": ts, "channel": channel}
        channel, thread = incident.channel_id or "", incident.thread_ts
        if kind == "page":
            user = str(payload["user"])
            link = thread_link(channel, thread)
            dm_text = t("escalation.page_dm", ref=incident.ref, sev=sev, title=title, link=link)
            dm = await self.notifier.open_dm(user)
            dm_ts = await self.notifier.post(
                dm,
                Result(
                    title="",
                    blocks=[
                        Text(dm_text, markup=True),
                        Buttons(
                            [Button(t("incident.button.ack"), f"{prefix} incident ack {incident.id}", style="primary")]
                        ),
                    ],
                    summary=f"{incident.ref}: {incident.title}",
                ),
            )
            mention = {
                "event": "paged",
                "user": user,
                "role": payload.get("role"),
                "on_call": payload.get("on_call"),
                "escalation": payload.get("escalation"),
                "late_ms": int(late.total_seconds() * 1000),
            }
            effects.mentions.setdefault((channel, thread, incident.id), []).append(mention)
            return {"dm": dm, "ts": dm_ts}
        if kind == "note":
            ts = await self.notifier.post(
                channel, Result(title="", blocks=[Text(self._note_text(payload), markup=True)]), thread
            )
            return {"ts": ts}
        if kind == "ticket":
            ticket_id = await conn.fetchval(
                "INSERT INTO tickets (incident_id, created_at, webhook_state) VALUES ($1, $2, $3) RETURNING id",
                incident.id,
                self.clock(),
                "queued" if self.deps.config.escalation.ticket_webhook else "none",
            )
            if self.deps.config.escalation.ticket_webhook:
                body = {
                    "ticket": f"TCK-{ticket_id}",
                    "incident": incident.ref,
                    "severity": incident.severity,
                    "title": incident.title,
                    "declared_by": incident.declared_by,
                    "declared_at": incident.declared_at.isoformat(),
                    "thread": thread_link(channel, thread),
                }
                await self.deps.incidents.insert_steps(conn, incident.id, [PlannedStep("webhook", body, self.clock())])
            text = t("escalation.ticket", ticket=f"TCK-{ticket_id}", ref=incident.ref)
            ts = await self.notifier.post(channel, Result(title="", blocks=[Text(text, markup=True)]), thread)
            return {"ticket": ticket_id, "ts": ts}
        if kind == "webhook":
            await self._post_webhook({k: v for k, v in payload.items() if k != "first_due"})  # a retry's mark
            await conn.execute("UPDATE tickets SET webhook_state = 'sent' WHERE id = $1", ticket_id_of(payload))
            return {"sent": True}
        if kind in ("checklist", "checklist_refresh"):
            message = await self._checklist_message(incident)
            if kind == "checklist":
                ts = await self.notifier.post(channel, message, thread)
                return {"ts": ts, "channel": channel}
            posted = await conn.fetchval(
                "SELECT result FROM escalation_steps WHERE incident_id = $1 AND kind = 'checklist' AND state = 'done'",
                incident.id,
            )
            if posted:
                await self.notifier.update(channel, json.loads(posted)["ts"], message)
            return {"refreshed": bool(posted)}
        raise NotifyFailed(f"unknown step kind {kind}")

    async def _checklist_message(self, incident: Incident) -> Result:
        t = self.t
        prefix = self.deps.config.slack.command
        items = await self.deps.incidents.checklist(incident.id)
        lines = [
            ("☑️ " if item["done_by"] else "⬜ ")
            + escape(item["text"])
            + (f" — <@{item['done_by']}>" if item["done_by"] else "")
            for item in items
        ]
        buttons = [
            Button(
                f"{'↩︎' if item['done_by'] else '✓'} {item['text']}"[:70],
                f"{prefix} incident tick {incident.id} {item['position']}",
            )
            for item in items
        ]
        return Result(
            title="",
            blocks=[
                Text(t("escalation.checklist", ref=incident.ref) + "\n" + "\n".join(lines), markup=True),
                Buttons(buttons),
            ],
            summary=t("escalation.checklist", ref=incident.ref),
        )

    async def _post_webhook(self, body: dict[str, Any]) -> None:
        url = self.deps.config.escalation.ticket_webhook
        if not url:
            return
        try:
            async with asyncio.timeout(WEBHOOK_TIMEOUT):
                async with self.deps.http.post(url, json=body) as response:
                    if response.status >= 300:
                        raise NotifyFailed(f"ticket webhook answered HTTP {response.status}")
        except TimeoutError:
            raise NotifyFailed(f"ticket webhook: no answer within {WEBHOOK_TIMEOUT:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NotifyFailed(f"ticket webhook unreachable: {type(exc).__name__}") from None

    def _note_text(self, payload: dict[str, Any]) -> str:
        t = self.t
        event = payload.get("event")
        user = f"<@{payload['user']}>" if payload.get("user") else ""
        if event == "paged":
            key = "escalation.paged_escalated" if payload.get("escalation") else "escalation.paged"
            who = escape(str(payload.get("role") or ""))
            if payload.get("on_call"):
                who += t("escalation.on_call_suffix")
            late = timedelta(milliseconds=int(payload.get("late_ms") or 0))
            return t(key, user=user, role=who) + self._late_suffix(late)
        if event == "acknowledged":
            return t("escalation.acknowledged", user=user, stopped=payload.get("stopped", 0))
        if event == "resolved":
            acked = f"<@{payload['acknowledged_by']}>" if payload.get("acknowledged_by") else t("escalation.nobody")
            text = t(
                "escalation.resolved",
                user=user,
                duration=format_duration(timedelta(seconds=int(payload.get("duration_s") or 0))),
                acked=acked,
                pages=payload.get("pages", 0),
            )
            if payload.get("note"):
                text += "\n> " + escape(str(payload["note"]))
            return text
        if event == "waiting_hours":
            when = datetime.fromisoformat(str(payload["when"]))
            local = when.astimezone(ZoneInfo(str(payload.get("tz") or self.deps.config.timezone)))
            return t("escalation.waiting_hours", user=user, when=f"{local:%Y-%m-%d %H:%M} {payload.get('tz')}")
        if event == "ticked":
            key = "escalation.ticked" if payload.get("done") else "escalation.unticked"
            return t(key, user=user, item=escape(str(payload.get("item", ""))))
        if event == "handover":
            previous = f"<@{payload['previous']}>" if payload.get("previous") else t("escalation.nobody")
            return t(
                "escalation.handover",
                role=escape(str(payload.get("role"))),
                user=user,
                previous=previous,
                by=f"<@{payload.get('by')}>",
            )
        if event == "scheduled":  # a scheduled job's result, composed and escaped by bot/scheduler.py
            return str(payload.get("text", ""))
        if event == "webhook_failed":
            return t("escalation.webhook_failed", error=escape(str(payload.get("error", ""))))
        if event == "diagnosis":  # `/ops diagnose`'s findings, added with its "Add to INC-n" button
            head = t("escalation.diagnosis", user=user, section=escape(str(payload.get("section", ""))))
            return head + "\n```" + escape(str(payload.get("text", ""))).replace("```", "ˋˋˋ") + "```"
        return escape(json.dumps(payload))
