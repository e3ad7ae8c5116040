"""The escalation worker: sends due incident steps, each once, even across replicas,
restarts, database restarts and a slow or absent Slack.

A step goes through three short moves, never one long transaction:
1. claim: one statement leases a batch of due steps (state 'sending', claimed_by,
   lease_until = the database's now() + LEASE) and commits, one claim at a time across
   replicas (CLAIM_LOCK), so steps due together are never divided between two batches;
2. send: outside any transaction, every message carrying the step's marker in Slack's
   message metadata;
3. record: one transaction writes the outcomes (done, retry, failed) of the steps this
   replica still holds, retried until the database answers.
A lease that runs out (its replica died mid-send) lets another replica claim the step
again, and a step whose last attempt ended without an answer (timeout, dropped connection,
lease run out) is `uncertain`: it first reads the channel or thread back and sends only
what is not there. Every due time and claim uses the database's clock, never a replica's.

Slack being down is one fact for all steps: the first send that meets it opens a circuit,
no step is claimed while it is open, a probe asks Slack every PROBE_EVERY seconds, and the
first answer lets every due step go at once. A permanent refusal (user_not_found,
not_in_channel, ...) fails the step at once and says so in the thread and to the declarer;
other errors retry a bounded number of times. The lines of one incident's thread go in
their order: a thread step waits while an earlier one of its incident is due or in flight.
A later tier of the policy waits while an earlier tier's page is still due or in flight, and
when that page goes out late the later tier's `after` counts again from that moment, so the
people paged first get the acknowledgement window the policy promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from bot.core.audit import AuditEntry
from bot.core.deps import Deps
from bot.incidents.answers import send_answer
from bot.incidents.home import home_view
from bot.incidents.notify import DeliveryUnconfirmed, Notifier, NotifyFailed, RetryLater
from bot.incidents.report import draft
from bot.output.markers import marker
from bot.output.results import Button, Buttons, Result, Text
from bot.output.slack import escape
from bot.storage.cancel import stop_if_cancelled
from bot.storage.database import Clock
from bot.storage.incidents import INCIDENT_COLUMNS, STEPS_CHANNEL, Incident, PlannedStep, utcnow
from bot.storage.pg_listen import PgListener
from bot.text import times
from bot.text.durations import format_duration
from bot.text.errors import UnavailableError
from bot.text.messages import Catalog

log = logging.getLogger(__name__)

LATE_NOTICE = timedelta(seconds=5)
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 6
"""Attempts of a step that meets an error of its own (not Slack being down, not a 429)."""
WEBHOOK_TIMEOUT = 5.0
LEASE = 45.0
"""Seconds a claimed step stays with its replica: longer than a batch's slowest sends."""
PROBE_EVERY = 1.0
"""Seconds between asking Slack whether it answers again, while it does not."""
DRAIN_GRACE = 5.0
"""What runtime shutdown gives in-flight sends to finish and be recorded."""

THREAD_KINDS = ("announce", "note", "ticket", "checklist", "checklist_refresh", "report")
"""Kinds whose message goes into the incident's thread, in the order they were written."""

CLAIM_LOCK = 0x6F7073636C6D  # "opsclm": one claim at a time, across every replica
"""Claims running at once (four loops on each replica) would each skip the rows the other had
locked and divide one declare's pages between them: two thread lines instead of one, and the
one-message grouping the thread relies on gone. The claim reads only about a batch of rows
through its indexes, so taking turns is cheap."""

_IN = ", ".join(f"'{k}'" for k in THREAD_KINDS)


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

_CLAIMABLE = f"""
      (s.incident_id IS NULL OR s.kind NOT IN ({_IN}) OR NOT EXISTS (
          SELECT 1 FROM escalation_steps e
          WHERE e.incident_id = s.incident_id AND (e.position, e.id) < (s.position, s.id)
            AND (e.kind IN ({_IN}) OR e.kind = 'page')
            AND (e.state = 'sending'
                 OR (e.state = 'pending' AND (e.due_at <= (SELECT t FROM clock) OR e.attempts > 0)))))
      AND (NOT s.payload ? 'after_s' OR NOT EXISTS (
          SELECT 1 FROM escalation_steps e
          WHERE e.incident_id = s.incident_id AND e.kind = 'page' AND e.payload ? 'after_s'
            AND (e.payload->>'policy_step')::int < (s.payload->>'policy_step')::int
            AND (e.payload->>'after_s')::float8 < (s.payload->>'after_s')::float8
            AND (e.state = 'sending'
                 OR (e.state = 'pending' AND (e.due_at <= (SELECT t FROM clock) OR e.attempts > 0)))))"""
"""A step is held back while an earlier line of its thread is due or in flight, and a page of a
later tier while a page of an earlier, shorter-delayed tier is. A thread line also waits for an
earlier page that is due: the page's own line takes the page's position (`_queue_lines`), so an
ack typed while Slack held the page back reads after "Paged", as it happened."""


def _claimable_half(state: str, since: str) -> str:
    """Steps in `state` whose `since` time has come, in that column's index order, locked."""
    return f"""
    SELECT s.id, s.state AS was, s.due_at
    FROM escalation_steps s
    WHERE s.state = '{state}' AND s.{since} <= (SELECT t FROM clock) AND {_CLAIMABLE}
    ORDER BY s.{since}, s.id
    FOR UPDATE OF s SKIP LOCKED
    LIMIT $2"""


_CLAIM = f"""
WITH turn AS MATERIALIZED (SELECT pg_advisory_xact_lock({CLAIM_LOCK})),
clock AS MATERIALIZED (SELECT coalesce($1::timestamptz, clock_timestamp()) AS t FROM turn),
due AS ({_claimable_half("pending", "due_at")}
), expired AS ({_claimable_half("sending", "lease_until")}
), picked AS (
    SELECT id, was FROM (SELECT * FROM due UNION ALL SELECT * FROM expired) both_kinds ORDER BY due_at, id LIMIT $2
)
UPDATE escalation_steps s
SET state = 'sending', claimed_by = $3, lease_until = clock.t + make_interval(secs => $4),
    uncertain = s.uncertain OR picked.was = 'sending',
    late_reason = CASE WHEN picked.was = 'sending' THEN coalesce(s.late_reason, 'lease') ELSE s.late_reason END
FROM picked, clock
WHERE s.id = picked.id
RETURNING s.id, s.incident_id, s.position, s.kind, s.payload, s.due_at, s.unless_ack, s.attempts, s.uncertain,
          s.late_reason, s.result, clock.t AS now
"""
"""Two halves, each walking its own partial index in claim order (escalation_steps_claim,
escalation_steps_leased), so a claim reads about `batch` rows, not every open step: one
condition with an OR between them made it a sequential scan and a sort (6 ms with 1,500 open
steps, paid by claims that take turns). The turn is taken first (an init plan, before any
row is read) and the clock read after it; rows another claim took meanwhile are re-checked
by their newest version and left out (they are 'sending' now)."""

_NEXT = """
SELECT extract(epoch FROM least(
    (SELECT min(due_at) FROM escalation_steps WHERE state = 'pending'),
    (SELECT min(lease_until) FROM escalation_steps WHERE state = 'sending')
) - coalesce($1::timestamptz, now()))
"""

_MINE = "id = $1 AND state = 'sending' AND claimed_by = $2"

_MARK_DONE = (
    "UPDATE escalation_steps SET state = 'done', fired_at = $3, fired_by = $2, late_ms = $4, result = $5::jsonb,"
    f" late_reason = $6, payload = $7::jsonb, attempts = attempts + 1, uncertain = false, lease_until = NULL"
    f" WHERE {_MINE}"
)
_MARK_RETRY = (
    "UPDATE escalation_steps SET state = 'pending', due_at = $3, attempts = attempts + $4, last_error = $5,"
    " payload = $6::jsonb, uncertain = uncertain OR $7, late_reason = coalesce($8, late_reason),"
    f" lease_until = NULL WHERE {_MINE}"
)
_MARK_END = (
    "UPDATE escalation_steps SET state = $3, last_error = $4, attempts = attempts + $5, lease_until = NULL"
    f" WHERE {_MINE}"
)
_SHIFT_LATER_TIERS = """
UPDATE escalation_steps
SET due_at = greatest(due_at, $2::timestamptz + make_interval(secs => (payload->>'after_s')::float8 - $3::float8))
WHERE incident_id = $1 AND state = 'pending' AND payload ? 'after_s' AND (payload->>'policy_step')::int > $4::int
  AND (payload->>'after_s')::float8 > $3::float8
"""


@dataclass
class Outcome:
    """What one sent step leaves for its batch's record: the step's new state and what comes with it."""

    state: str  # done | retry | failed | cancelled | stopped
    result: dict[str, Any] = field(default_factory=dict)
    late: timedelta = timedelta(0)
    reason: str | None = None
    due_in: float = 0.0  # retry: seconds from now
    counts: bool = True  # retry: counts toward MAX_ATTEMPTS
    uncertain: bool = False  # retry: the attempt may have reached Slack
    error: str | None = None
    payload: dict[str, Any] | None = None
    follow_up: list[tuple[int | None, PlannedStep]] = field(default_factory=list)
    audit: AuditEntry | None = None


@dataclass
class Claimed:
    """A leased step with its incident (as claimed) and the database time of the claim."""

    row: asyncpg.Record
    payload: dict[str, Any]
    incident: Incident | None

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def kind(self) -> str:
        return str(self.row["kind"])

    @property
    def now(self) -> datetime:
        value: datetime = self.row["now"]
        return value


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
        clock: Clock | None = None,
        poll: float = 1.0,
        batch: int = 25,
        concurrency: int = 4,
    ) -> None:
        self.deps = deps
        self.notifier = notifier
        self.clock = clock  # None: the database's now(); a test may pin time with a clock of its own
        self.poll = poll
        self.batch = batch
        self.concurrency = concurrency
        # one name per worker, even two in one process: a lease is checked against it
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.webhook_retry = WEBHOOK_RETRY
        self._due = asyncio.Event()  # loops: look for due steps now
        self._changed = asyncio.Event()  # timer: the earliest due time may have changed
        self._generation = 0
        self._stopping = False
        self._busy = 0  # batches claimed and not yet recorded
        self._idle = asyncio.Event()
        self._idle.set()
        self._slack_down: datetime | None = None  # since when Slack has not answered (database time)
        self._slack_back = asyncio.Event()
        self._slack_back.set()
        self._db_down: datetime | None = None  # since when this worker has not reached its database
        self._db_outage: tuple[datetime, datetime] | None = None  # the last outage ended: (since, back)
        self._probe_task: asyncio.Task[None] | None = None

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    def _pinned(self) -> datetime | None:
        return self.clock() if self.clock is not None else None

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

    async def drain(self, grace: float = DRAIN_GRACE) -> bool:
        """Stop claiming, and give the batches in flight up to `grace` seconds to finish their
        sends and record them (graceful shutdown: call before cancelling `run`). True when
        everything claimed was recorded; what was not stays leased and is looked for in Slack
        by whichever replica claims it after the lease."""
        self._stopping = True
        self._signal()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        return self._idle.is_set()

    async def _timer(self) -> None:
        """Wake the loops at the moment the next step falls due (or a lease runs out), by the
        database's clock: the poll interval stays as a safety net for steps other replicas add."""
        while True:
            self._changed.clear()
            delay = self.poll
            try:
                async with self.deps.db.connection() as conn:
                    seconds = await conn.fetchval(_NEXT, self._pinned())
            except (UnavailableError, asyncpg.PostgresError, OSError):
                stop_if_cancelled()
                seconds = None
            if seconds is not None:
                delay = min(self.poll, max(0.0, float(seconds)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)
            self._signal()

    async def _loop(self) -> None:
        while not self._stopping:
            seen = self._generation
            await self._slack_back.wait()
            if self._stopping:
                break
            try:
                fired = await self.fire_due()
                self._db_answers()
            except (UnavailableError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                stop_if_cancelled()
                if self._db_down is None:  # one line per outage, and one when it ends (_db_answers)
                    log.warning("escalation worker: bot database unavailable (%s); retrying", exc)
                self._db_down = self._db_down or utcnow()
                fired = 0
            except Exception:
                stop_if_cancelled()
                log.exception("escalation worker round failed")
                fired = 0
            if fired:  # its record may have made more claimable (the next line of a thread): all look
                self._signal()
                continue
            if self._generation != seen:  # a wake came during the round
                continue
            self._due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.poll)

    # ---- claim, send, record ---------------------------------------------------------

    async def _claim(self) -> list[Claimed]:
        async with self.deps.db.connection() as conn:
            rows = await conn.fetch(_CLAIM, self._pinned(), self.batch, self.name, LEASE)
            if not rows:
                return []
            ids = list({r["incident_id"] for r in rows if r["incident_id"] is not None})
            incidents = {
                r["id"]: Incident.from_row(r)
                for r in await conn.fetch(f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ANY($1::int[])", ids)
            }
        claimed = [Claimed(r, json.loads(r["payload"]), incidents.get(r["incident_id"])) for r in rows]
        return sorted(claimed, key=lambda c: (c.row["due_at"], c.id))

    async def fire_due(self) -> int:
        """One round: lease up to `batch` due steps, send them outside any transaction, record.

        The announces go first, so pages claimed with them can link the new thread; the lines
        of one incident's thread go one after the other in their order."""
        self._busy += 1
        self._idle.clear()
        try:
            claimed = await self._claim()
            if not claimed:
                return 0
            outcomes: dict[int, Outcome] = {}
            announces = [c for c in claimed if c.kind == "announce"]
            for c, outcome in zip(announces, await self._send_all(announces), strict=True):
                outcomes[c.id] = outcome
                if outcome.state == "done" and c.incident is not None:
                    thread = str(outcome.result["ts"])
                    for other in claimed:
                        if other.incident is not None and other.incident.id == c.incident.id:
                            other.incident = _with_thread(other.incident, thread)
            others = [c for c in claimed if c.kind != "announce"]
            pages = [c for c in others if c.kind not in THREAD_KINDS]
            by_incident: dict[int | None, list[Claimed]] = {}
            for c in others:
                if c.kind in THREAD_KINDS:
                    by_incident.setdefault(c.row["incident_id"], []).append(c)

            async def in_order(steps: list[Claimed]) -> list[Outcome]:
                return [(await self._send_all([step]))[0] for step in sorted(steps, key=_thread_order)]

            page_outcomes, *threads = await asyncio.gather(
                self._send_all(pages), *(in_order(steps) for steps in by_incident.values())
            )
            outcomes.update(zip((c.id for c in pages), page_outcomes, strict=True))
            for steps, results in zip(by_incident.values(), threads, strict=True):
                outcomes.update(zip((c.id for c in sorted(steps, key=_thread_order)), results, strict=True))
            self._queue_lines(claimed, outcomes)
            await self._record(claimed, outcomes)
            return len(claimed)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def _send_all(self, steps: list[Claimed]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._fire_guarded(c) for c in steps)))

    async def _fire_guarded(self, c: Claimed) -> Outcome:
        """A bug in one step must not stop the others of its batch."""
        try:
            return await self._fire_one(c)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, UnavailableError, OSError) as exc:
            stop_if_cancelled()  # a step's own database write failed: try it again shortly
            return self._retry(c, backoff(int(c.row["attempts"])), f"bot database: {type(exc).__name__}")
        except Exception as exc:
            stop_if_cancelled()
            log.exception("step %s (%s) failed", c.id, c.kind)
            return self._retry(c, backoff(int(c.row["attempts"])), f"internal error: {type(exc).__name__}")

    def _retry(
        self,
        c: Claimed,
        seconds: float,
        error: str,
        counts: bool = True,
        uncertain: bool = False,
        reason: str | None = None,
    ) -> Outcome:
        payload = {**c.payload, "first_due": first_due_of(c.row, c.payload).isoformat()}
        log.warning("step %s (%s) not sent: %s; retry in %.1fs", c.id, c.kind, error, seconds)
        return Outcome(
            "retry", due_in=seconds, error=error, payload=payload, counts=counts, uncertain=uncertain, reason=reason
        )

    async def _fire_one(self, c: Claimed) -> Outcome:
        """Send one leased step; what happened comes back as its Outcome, nothing is written here
        but a ticket's own row."""
        kind = c.kind
        incident = c.incident
        if incident is not None and kind in ("page", "ticket", "checklist"):
            if incident.state == "resolved":
                return Outcome("cancelled")
            if c.row["unless_ack"] and incident.state == "acknowledged":
                return Outcome("stopped")
        if kind == "page" and incident is not None and c.payload.get("rota") and "resolved_at" not in c.payload:
            instead = await self.deps.incidents.resolve_page(c.payload, c.now, bool(c.row["unless_ack"]))
            if instead is not None:  # nobody on the rota now: its other contacts are paged instead
                return Outcome("done", result={"gap": c.payload["rota"]}, follow_up=[(incident.id, s) for s in instead])
        acked_by = incident.acknowledged_by if incident is not None else None
        if incident is not None and kind == "page" and acked_by is not None and acked_by == c.payload.get("user"):
            return self._not_paged_acked(c, incident)
        first_due = first_due_of(c.row, c.payload)
        late = c.now - first_due
        reason = self._late_reason(c, late)
        try:
            result = await self._send(c, late, reason)
        except RetryLater as exc:
            return self._retry(c, exc.seconds, str(exc), counts=False, reason="rate_limited")
        except NotifyFailed as exc:
            return self._failed_send(c, exc)
        except DeliveryUnconfirmed as exc:
            return self._unconfirmed(c, str(exc))
        if result.get("skipped_no_thread"):
            return Outcome("failed", error="no incident thread to post in")
        outcome = Outcome("done", result=result, late=late, reason=reason if late > LATE_NOTICE else None)
        if kind == "page":
            outcome.audit = self._page_audit(c, late)
        return outcome

    def _not_paged_acked(self, c: Claimed, incident: Incident) -> Outcome:
        """Whoever acknowledged already knows: the page that Slack held back is not sent to them
        afterwards, and the thread says so where the page's own line would have been."""
        line = {"event": "not_paged_acked", "user": c.payload.get("user")}
        step = PlannedStep("note", line, c.now, position=int(c.row["position"]))
        return Outcome("stopped", follow_up=[(incident.id, step)])

    def _failed_send(self, c: Claimed, exc: NotifyFailed) -> Outcome:
        error = self.deps.redact(str(exc))
        if exc.unavailable and c.kind != "webhook":
            since = self._open_circuit(c.now)
            return self._retry(c, 0.0, error, counts=False, uncertain=exc.unknown, reason=f"slack:{since.isoformat()}")
        attempts = int(c.row["attempts"]) + 1
        if c.kind == "webhook":  # a ticket system down for a morning still gets its ticket
            delay = self.webhook_retry.delay(attempts - 1)
            if c.now + timedelta(seconds=delay) - first_due_of(c.row, c.payload) <= self.webhook_retry.window:
                return self._retry(c, delay, error, uncertain=exc.unknown)
            log.error("ticket webhook for %s given up after %d tries: %s", c.payload.get("ticket"), attempts, error)
            return Outcome("failed", error=error, follow_up=self._report_failure(c, exc.code or error))
        if not exc.permanent and attempts < MAX_ATTEMPTS:
            return self._retry(c, backoff(attempts - 1), error, uncertain=exc.unknown)
        return Outcome("failed", error=error, follow_up=self._report_failure(c, exc.code or error))

    def _unconfirmed(self, c: Claimed, why: str) -> Outcome:
        """Neither failed nor sent again: a page's thread and declarer hear "delivery unconfirmed"."""
        error = self.deps.redact(why)
        log.warning("step %s (%s): delivery unconfirmed, not sent again: %s", c.id, c.kind, error)
        incident = c.incident
        follow: list[tuple[int | None, PlannedStep]] = []
        if incident is not None and c.kind in ("page", "announce"):
            event = {
                "event": f"{c.kind}_unconfirmed",
                "user": c.payload.get("user"),
                "channel": incident.channel_id,
                "error": error[:200],
                "ref": incident.ref,
            }
            if c.kind == "page":
                follow.append((incident.id, PlannedStep("note", event, c.now)))
            follow.append((incident.id, PlannedStep("dm", {**event, "to": incident.declared_by}, c.now)))
        return Outcome("unconfirmed", error=error, follow_up=follow)

    def _report_failure(self, c: Claimed, error: str) -> list[tuple[int | None, PlannedStep]]:
        """A step that will never be sent is said in the thread and to the declarer."""
        incident = c.incident
        if incident is None:
            return []
        now = c.now
        if c.kind == "webhook":
            return [(incident.id, PlannedStep("note", {"event": "webhook_failed", "error": error[:200]}, now))]
        if c.kind == "page":
            event = {"event": "page_failed", "user": c.payload.get("user"), "error": error[:200], "ref": incident.ref}
            return [
                (incident.id, PlannedStep("note", event, now)),
                (incident.id, PlannedStep("dm", {**event, "to": incident.declared_by}, now)),
            ]
        if c.kind == "announce":
            event = {
                "event": "announce_failed",
                "channel": incident.channel_id,
                "error": error[:200],
                "ref": incident.ref,
                "to": incident.declared_by,
            }
            return [(incident.id, PlannedStep("dm", event, now))]
        return []

    def _open_circuit(self, now: datetime) -> datetime:
        """Slack did not answer: no step is claimed until a probe gets an answer."""
        if self._slack_down is None:
            self._slack_down = now
            self._slack_back.clear()
            log.warning("Slack does not answer; pages wait for it and go as soon as it answers")
            self._probe_task = asyncio.get_running_loop().create_task(self._probe())
        return self._slack_down

    async def _probe(self) -> None:
        while self._slack_down is not None and not self._stopping:
            await asyncio.sleep(PROBE_EVERY)
            try:
                await self.notifier.probe()
            except NotifyFailed as exc:
                if exc.unavailable:
                    continue
            except RetryLater:
                pass
            except Exception:
                log.exception("Slack probe failed")
                continue
            break
        log.warning("Slack answers again (down since %s)", self._slack_down)
        self._slack_down = None
        self._slack_back.set()
        self._signal()

    def _db_answers(self) -> None:
        """The database answered: an outage, if there was one, ends here (kept for `_late_reason`)."""
        if self._db_down is not None:
            self._db_outage = (self._db_down, utcnow())
            log.warning("escalation worker: bot database back (unavailable since %s)", self._db_down.isoformat())
            self._db_down = None

    def _late_reason(self, c: Claimed, late: timedelta) -> str | None:
        """Why a step goes late: what its retries met, else what this replica knows (its database
        away now, or away when the step fell due), else that no worker ran when it was due."""
        if late <= LATE_NOTICE:
            return None
        if c.row["late_reason"]:
            return str(c.row["late_reason"])
        if self._db_down is not None:
            return f"database:{self._db_down.isoformat()}"
        if self._db_outage is not None and first_due_of(c.row, c.payload) <= self._db_outage[1]:
            return f"database:{self._db_outage[0].isoformat()}"
        return "no_worker"

    def _queue_lines(self, claimed: list[Claimed], outcomes: dict[int, Outcome]) -> None:
        """The thread line(s) of the batch's pages: one queued note per incident, recorded with
        the pages, so it goes in the thread's order once the thread is there, and a crash after
        the pages went can neither lose it nor send it twice."""
        groups: dict[int, list[Claimed]] = {}
        for c in claimed:
            if c.kind == "page" and "mention" in outcomes[c.id].result and c.incident is not None:
                groups.setdefault(c.incident.id, []).append(c)
        for incident_id, pages in groups.items():
            lines = [outcomes[p.id].result["mention"] for p in pages]
            note = {"event": "paged_lines", "lines": lines, "pages": [p.id for p in pages]}
            position = min(int(p.row["position"]) for p in pages)  # where the pages were, not where the thread is now
            outcomes[pages[0].id].follow_up.append(
                (incident_id, PlannedStep("note", note, pages[0].now, position=position))
            )

    async def _record(self, claimed: list[Claimed], outcomes: dict[int, Outcome]) -> None:
        """Write the batch's outcomes in one transaction, again until the database answers: what
        was sent is never sent again because the database was away when it went."""
        delay = 0.2
        while True:
            try:
                async with self.deps.db.connection() as conn:
                    async with conn.transaction():
                        await self._write(conn, claimed, outcomes)
                    audits = [o.audit for o in outcomes.values() if o.audit is not None]
                    if audits:  # after the commit: a failed audit row never un-sends a page
                        await self._write_audits(conn, audits)
                self._db_answers()
                return
            except (UnavailableError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                stop_if_cancelled()
                self._db_down = self._db_down or utcnow()
                log.warning(
                    "escalation: %d sent step(s) not recorded yet (%s); again in %.1fs", len(claimed), exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _write(self, conn: asyncpg.Connection, claimed: list[Claimed], outcomes: dict[int, Outcome]) -> None:
        now: datetime = await conn.fetchval("SELECT coalesce($1::timestamptz, now())", self._pinned())
        done, retry, end, threads, follow = [], [], [], [], []
        for c in claimed:
            o = outcomes[c.id]
            follow.extend(o.follow_up)
            if o.state == "done":
                late_ms = int(o.late.total_seconds() * 1000)
                result = {k: v for k, v in o.result.items() if k != "mention"}
                done.append((c.id, self.name, now, late_ms, json.dumps(result), o.reason, json.dumps(c.payload)))
                if c.kind == "announce" and c.incident is not None:
                    threads.append((c.incident.id, str(o.result["ts"])))
            elif o.state == "retry":
                due = now + timedelta(seconds=o.due_in)
                payload = json.dumps(o.payload if o.payload is not None else c.payload)
                retry.append((c.id, self.name, due, 1, (o.error or "")[:500], payload, o.uncertain, o.reason))
            else:
                tried = 1 if o.state in ("failed", "unconfirmed") else 0
                end.append((c.id, self.name, o.state, (o.error or "")[:500] or None, tried))
        if done:
            await conn.executemany(_MARK_DONE, done)
        if retry:
            await conn.executemany(_MARK_RETRY, retry)
        if end:
            await conn.executemany(_MARK_END, end)
        given_up = [
            (ticket_id_of(c.payload),) for c in claimed if c.kind == "webhook" and outcomes[c.id].state == "failed"
        ]
        if given_up:  # the ticket says so too, not only its step
            await conn.executemany("UPDATE tickets SET webhook_state = 'failed' WHERE id = $1", given_up)
        if threads:
            await conn.executemany("UPDATE incidents SET thread_ts = $2 WHERE id = $1", threads)
        shifts = [
            (c.incident.id, now, float(c.payload["after_s"]), int(c.payload["policy_step"]))
            for c in claimed
            if c.kind == "page" and outcomes[c.id].state == "done" and c.incident is not None and "after_s" in c.payload
        ]
        if shifts:  # a later tier's `after` counts from when this tier's pages really went out
            await conn.executemany(_SHIFT_LATER_TIERS, shifts)
        for incident_id, step in follow:
            await self.deps.incidents.insert_steps(
                conn, incident_id, [PlannedStep(step.kind, step.payload, now, step.unless_ack, position=step.position)]
            )

    def _page_audit(self, c: Claimed, late: timedelta) -> AuditEntry:
        return AuditEntry(
            request_id=f"INC-{c.row['incident_id']}-step-{c.id}",
            user_id="ops-bot",
            channel_id=c.incident.channel_id if c.incident else None,
            source="escalation",
            operation="incident escalate" if c.payload.get("escalation") else "incident page",
            arguments={"incident": c.row["incident_id"], "user": c.payload.get("user"), "role": c.payload.get("role")},
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

    def _late_suffix(self, late: timedelta, reason: str | None = None) -> str:
        if late <= LATE_NOTICE:
            return ""
        return self.t("escalation.late", late=late, reason=self._reason_text(reason or "no_worker"))

    def _reason_text(self, reason: str) -> str:
        kind, _, since = reason.partition(":")
        if kind in ("slack", "database") and since:
            when = datetime.fromisoformat(since)
            tz = times.zone(self.deps.config.timezone)
            return self.t(f"escalation.late.{kind}", since=times.labelled(when, tz, "%H:%M:%S"))
        if kind in ("rate_limited", "lease"):
            return self.t(f"escalation.late.{kind}")
        return self.t("escalation.late.no_worker")

    async def _post_once(self, c: Claimed, channel: str, thread: str | None, result: Result, part: str = "post") -> str:
        """Post the step's message unless an earlier attempt whose answer never came already did."""
        if c.row["uncertain"]:
            try:
                found = await self.notifier.find(channel, thread, c.id, part)
            except NotifyFailed as exc:  # the read-back cannot tell: never a blind second send
                if exc.permanent or int(c.row["attempts"]) + 1 >= MAX_ATTEMPTS:
                    raise DeliveryUnconfirmed(f"read-back {exc}") from None
                raise NotifyFailed(f"read-back {exc}", code=exc.code, unknown=True) from None
            if found:
                log.info("step %s (%s): already in Slack (%s), not sent again", c.id, c.kind, found)
                return found
        return await self.notifier.post(channel, result, thread, marker([c.id], part))

    async def _send(self, c: Claimed, late: timedelta, reason: str | None) -> dict[str, Any]:
        kind = c.kind
        payload = c.payload
        t = self.t
        prefix = self.deps.config.slack.command
        if kind == "answer":  # a command's answer Slack could not take at the time (bot/incidents/answers.py)
            return await send_answer(
                self.deps.http,
                self.notifier,
                payload,
                c.now,
                t,
                self.deps.config.timezone,
                lambda dm, told: self._post_once(c, dm, None, told, "answer"),
            )
        if kind == "note" and c.incident is None:
            channel = self.deps.config.slack.incident_channel
            if not channel:
                return {"skipped": "no incident_channel"}
            ts = await self._post_once(
                c, channel, None, Result(title="", blocks=[Text(self._note_text(payload), markup=True)])
            )
            return {"ts": ts}
        if kind == "notice":
            return await self._notice(c)
        if kind == "usergroup":
            return await self._usergroup(c)
        if kind == "home":  # a person's App Home tab, as it is when the step goes
            user = str(c.payload["user"])
            await self.notifier.publish_home(user, await home_view(self.deps, user, c.now))
            return {"published": user}
        incident = c.incident
        if incident is None:
            raise NotifyFailed(f"step {c.id}: its incident is gone", permanent=True)
        sev = incident.severity.upper()
        title = escape(incident.title)
        if kind == "dm":
            dm = await self.notifier.open_dm(str(payload["to"]))
            told = Result(title="", blocks=[Text(self._note_text(payload), markup=True)])
            return {"ts": await self._post_once(c, dm, None, told, "dm"), "dm": dm}
        if kind == "announce":
            channel = incident.channel_id
            if not channel:
                raise NotifyFailed("no slack.incident_channel", code="no_incident_channel", permanent=True)
            text = t("escalation.announce", ref=incident.ref, sev=sev, title=title, user=f"<@{incident.declared_by}>")
            result = Result(
                title="",
                blocks=[
                    Text(text + self._late_suffix(late, reason), markup=True),
                    Buttons(
                        [
                            Button(t("incident.button.ack"), f"{prefix} incident ack {incident.id}", style="primary"),
                            Button(t("incident.button.resolve"), f"{prefix} incident resolve {incident.id}"),
                        ]
                    ),
                ],
                summary=f"{incident.ref} {sev} {incident.title}",
            )
            ts = await self._post_once(c, channel, None, result, "announce")
            return {"ts": ts, "channel": channel}
        channel, thread = incident.channel_id or "", incident.thread_ts
        if kind == "page":
            user = str(payload["user"])
            link = thread_link(channel, thread)
            if link:
                dm_text = t("escalation.page_dm", ref=incident.ref, sev=sev, title=title, link=link)
            else:  # the thread is not there (yet, or at all): the page goes anyway
                dm_text = t("escalation.page_dm_nothread", ref=incident.ref, sev=sev, title=title)
            dm = await self.notifier.open_dm(user)
            page = Result(
                title="",
                blocks=[
                    Text(dm_text, markup=True),
                    Buttons(
                        [Button(t("incident.button.ack"), f"{prefix} incident ack {incident.id}", style="primary")]
                    ),
                ],
                summary=f"{incident.ref}: {incident.title}",
            )
            dm_ts = await self._post_once(c, dm, None, page, "dm")
            mention = {
                "event": "paged",
                "user": user,
                "role": payload.get("role"),
                "on_call": payload.get("on_call"),
                "escalation": payload.get("escalation"),
                "late_ms": int(late.total_seconds() * 1000),
                "late_reason": reason,
            }
            return {"dm": dm, "ts": dm_ts, "mention": mention}  # its thread line: see _queue_lines
        if not channel or not thread:  # the announce failed for good: the declarer was told
            return {"skipped_no_thread": True}
        if kind == "report":  # the postmortem draft, as `/ops incident resolve` promises, in the thread
            return await self._upload_report(incident, channel, thread)
        if kind == "note":
            line = Result(title="", blocks=[Text(self._note_text(payload), markup=True)])
            return {"ts": await self._post_once(c, channel, thread, line)}
        if kind == "ticket":
            ticket_id = await self._ticket_row(c, incident, channel, thread)
            text = t("escalation.ticket", ticket=f"TCK-{ticket_id}", ref=incident.ref)
            ts = await self._post_once(c, channel, thread, Result(title="", blocks=[Text(text, markup=True)]))
            return {"ticket": ticket_id, "ts": ts}
        if kind == "webhook":
            await self._post_webhook({k: v for k, v in payload.items() if k != "first_due"})  # a retry's mark
            async with self.deps.db.connection() as conn:
                await conn.execute("UPDATE tickets SET webhook_state = 'sent' WHERE id = $1", ticket_id_of(payload))
            return {"sent": True}
        if kind in ("checklist", "checklist_refresh"):
            message = await self._checklist_message(incident)
            if kind == "checklist":
                ts = await self._post_once(c, channel, thread, message)
                return {"ts": ts, "channel": channel}
            async with self.deps.db.connection() as conn:
                posted = await conn.fetchval(
                    "SELECT result FROM escalation_steps WHERE incident_id = $1 AND kind = 'checklist'"
                    " AND state = 'done'",
                    incident.id,
                )
            if posted:
                await self.notifier.update(channel, json.loads(posted)["ts"], message)
            return {"refreshed": bool(posted)}
        raise NotifyFailed(f"unknown step kind {kind}", permanent=True)

    async def _usergroup(self, c: Claimed) -> dict[str, Any]:
        """Keep a rota's user group to exactly who is on call when this step is sent (not when
        it was queued): after a Slack outage the first step to go sets today's person, and the
        ones queued behind it find the group already right and call nothing (once, not once per
        missed hand-off). In a gap the group is left as it is (Slack refuses an empty group)."""
        role, group = str(c.payload["role"]), str(c.payload["usergroup"])
        store = self.deps.incidents.oncall
        async with self.deps.db.connection() as conn, conn.transaction():
            # one update of a group at a time, across replicas: two steps sent together (a
            # batch after an outage) must not both see the old members and both call Slack
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"oncall usergroup {group}")
            shift = await store.who(conn, role, c.now)
            synced = await store.synced(conn, group)
            if shift is None:
                return {"skipped": "gap"}
            users = [shift.user]
            if synced == users:
                return {"skipped": "unchanged", "users": users}
            await self.notifier.set_usergroup(group, users)
            await store.record_sync(conn, group, users, c.now)
        return {"users": users}

    async def _notice(self, c: Claimed) -> dict[str, Any]:
        """A message of the on-call rotas (a swap or cover request, an answer, a hand-off): to a
        person's DM or a channel, with its buttons."""
        to = str(c.payload["to"])
        where = await self.notifier.open_dm(to) if to.startswith(("U", "W")) else to
        text = str(c.payload.get("text", ""))
        buttons = [Button(str(b[0]), str(b[1]), style=b[2]) for b in c.payload.get("buttons") or []]
        result = Result(title="", blocks=[Text(text, markup=True)], summary=text[:150])
        if buttons:
            result.blocks.append(Buttons(buttons))
        return {"ts": await self._post_once(c, where, None, result)}

    async def _ticket_row(self, c: Claimed, incident: Incident, channel: str, thread: str | None) -> int:
        """The ticket of this step, made once: a step sent again finds the one it made."""
        made = json.loads(c.row["result"]) if c.row["result"] else {}
        if made.get("ticket"):
            return int(made["ticket"])
        async with self.deps.db.connection() as conn, conn.transaction():
            ticket_id = int(
                await conn.fetchval(
                    "INSERT INTO tickets (incident_id, created_at, webhook_state)"
                    " VALUES ($1, coalesce($2::timestamptz, now()), $3) RETURNING id",
                    incident.id,
                    self._pinned(),
                    "queued" if self.deps.config.escalation.ticket_webhook else "none",
                )
            )
            await conn.execute(
                "UPDATE escalation_steps SET result = $2::jsonb WHERE id = $1", c.id, json.dumps({"ticket": ticket_id})
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
                await self.deps.incidents.insert_steps(conn, incident.id, [PlannedStep("webhook", body, c.now)])
        return ticket_id

    async def _upload_report(self, incident: Incident, channel: str, thread: str) -> dict[str, Any]:
        upload = getattr(self.notifier, "upload", None)
        found = await draft(self.deps.db, incident.id, self.deps.config, self.t)
        if upload is None or found is None:
            return {"skipped": "no upload"}
        await upload(
            channel, thread, found.filename, found.markdown.encode(), self.t("report.file_title", ref=found.ref)
        )
        return {"uploaded": found.filename}

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
            return t(key, user=user, role=who) + self._late_suffix(late, payload.get("late_reason"))
        if event == "not_paged_acked":
            return t("escalation.not_paged_acked", user=user)
        if event == "acknowledged":
            return t("escalation.acknowledged", user=user, stopped=payload.get("stopped", 0))
        if event == "resolved":
            acked = f"<@{payload['acknowledged_by']}>" if payload.get("acknowledged_by") else t("escalation.nobody")
            text = t(
                "escalation.resolved",
                user=user,
                duration=timedelta(seconds=int(payload.get("duration_s") or 0)),
                acked=acked,
                pages=payload.get("pages", 0),
            )
            if payload.get("note"):
                text += "\n> " + escape(str(payload["note"]))
            return text
        if event == "rota_gap":
            users = ", ".join(f"<@{u}>" for u in payload.get("users") or []) or t("escalation.nobody")
            return t("oncall.gap_paged", role=escape(str(payload.get("role", ""))), users=users)
        if event == "waiting_hours":
            when = datetime.fromisoformat(str(payload["when"]))
            tz = times.zone(str(payload.get("tz") or self.deps.config.timezone))  # the contact's own zone
            return t("escalation.waiting_hours", user=user, when=times.labelled(when, tz))
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
        if event == "paged_lines":
            return "\n".join(self._note_text(line) for line in payload.get("lines") or [])
        if event == "page_failed":
            return t(
                "escalation.page_failed", ref=payload.get("ref", ""), user=user, error=escape(str(payload.get("error")))
            )
        if event in ("page_unconfirmed", "announce_unconfirmed"):
            return t(
                f"escalation.{event}",
                ref=payload.get("ref", ""),
                user=user,
                channel=f"<#{payload.get('channel')}>",
                error=escape(str(payload.get("error"))),
            )
        if event == "announce_failed":
            if payload.get("error") == "no_incident_channel":
                return t("escalation.no_channel", ref=payload.get("ref", ""))
            return t(
                "escalation.announce_failed",
                ref=payload.get("ref", ""),
                channel=f"<#{payload.get('channel')}>",
                error=escape(str(payload.get("error"))),
            )
        if event == "scheduled":  # a scheduled job's result, composed and escaped by bot/jobs/scheduler.py
            return str(payload.get("text", ""))
        if event == "webhook_failed":
            return t("escalation.webhook_failed", error=escape(str(payload.get("error", ""))))
        if event == "note":  # `/ops incident note`
            return t("escalation.note", user=user, text=escape(str(payload.get("text", ""))))
        if event == "alert_linked":  # an incident declared from an alert's message or rule
            return t(
                "escalation.alert_linked", alert=escape(str(payload.get("alert", ""))), link=payload.get("link", "")
            )
        if event == "alerts_resolved":
            return t("escalation.alerts_resolved", alert=escape(str(payload.get("alert", ""))))
        if event == "diagnosis":  # `/ops diagnose`'s findings, added with its "Add to INC-n" button
            head = t("escalation.diagnosis", user=user, section=escape(str(payload.get("section", ""))))
            return head + "\n```" + escape(str(payload.get("text", ""))).replace("```", "ˋˋˋ") + "```"
        return escape(json.dumps(payload))


def _thread_order(c: Claimed) -> tuple[int, int]:
    return int(c.row["position"]), c.id


def _with_thread(incident: Incident, thread: str) -> Incident:
    return Incident(**{**incident.__dict__, "thread_ts": thread})
