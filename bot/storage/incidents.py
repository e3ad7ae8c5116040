"""Incidents and their escalation plan, stored in the bot's Postgres.

Declaring an incident writes, in one transaction, the incident and every step its policy
(ops.yml `escalation.<severity>`) calls for, each with its due time: the thread's opening
message, pages and notifications (delayed to the contact's working hours when the policy
allows it), tickets, checklists. Nothing is sent from here: the escalation worker sends
due steps, so a step survives a crash or a restart and fires once (bot/incidents/escalation.py).
Every later event (ack, resolution, lateness, waiting for hours) is a `note` step too, so
the incident's thread is its timeline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bot.config.hours import next_reachable
from bot.config.ops_yml import Contact, EscalationStep, OpsConfig
from bot.storage.database import BotDatabase, Clock, database_now
from bot.storage.oncall import OncallStore
from bot.text.errors import BotError

ANY_HOUR_SEVERITIES = frozenset({"sev1"})
FALLBACK_SET = timedelta(days=7)
"""`/ops oncall set` on a rota whose layers hand off no more within a year lasts this long."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Incident:
    id: int
    severity: str
    title: str
    state: str
    declared_by: str
    declared_at: datetime
    channel_id: str | None
    thread_ts: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None

    @property
    def ref(self) -> str:
        return f"INC-{self.id}"

    @classmethod
    def from_row(cls, row: asyncpg.Record, prefix: str = "") -> Incident:
        """From a row with the incident's columns, named `{prefix}{column}` when joined with others."""
        return cls(**{f: row[prefix + f] for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PlannedStep:
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    unless_ack: bool = False
    position: int | None = None
    """Where the step sits in its incident's thread; None: after every step written so far. A
    page's thread line takes the page's own position, so it keeps the order of the events even
    when Slack lets the page go out only after later lines were written."""


@dataclass(frozen=True)
class StepRow:
    id: int
    kind: str
    state: str
    due_at: datetime
    fired_at: datetime | None
    late_ms: int | None
    payload: dict[str, Any]


INCIDENT_COLUMNS = (
    "id, severity, title, state, declared_by, declared_at, channel_id, thread_ts, acknowledged_by,"
    " acknowledged_at, resolved_by, resolved_at, resolution"
)


STEPS_CHANNEL = "opsbot_escalation_steps"
"""The NOTIFY channel that tells every replica's escalation worker new steps were written."""


class IncidentStore:
    def __init__(self, db: BotDatabase, config: OpsConfig, clock: Clock | None = None) -> None:
        self.db = db
        self.config = config
        self.oncall = OncallStore(db, config, clock)
        self.clock = clock  # None: the database's clock, one for every replica; a test may pin its own

    @property
    def clock(self) -> Clock | None:
        return self._clock

    @clock.setter
    def clock(self, value: Clock | None) -> None:
        """One clock for the incidents and the rotas they page by."""
        self._clock = value
        self.oncall.clock = value

    async def now(self, conn: asyncpg.Connection) -> datetime:
        """The time of this transaction (`database_now`): due times are set by one clock for all replicas."""
        return await database_now(conn, self.clock)

    # ---- who is paged ---------------------------------------------------------------

    async def on_call_overrides(self, conn: asyncpg.Connection, at: datetime | None = None) -> dict[str, str]:
        """role -> who is on call by a handover (`oncall set` for a role without a rota) or, for a
        role with a rota, by the rota at `at` (now when not given); a rota's gap is left out."""
        chosen = {r["role"]: r["user_id"] for r in await conn.fetch("SELECT role, user_id FROM oncall")}
        if self.oncall.book.rotas:
            moment = at if at is not None else await self.now(conn)
            for role, user in (await self.oncall.everyone(conn, moment)).items():
                chosen.pop(role, None)
                if user is not None:
                    chosen[role] = user
        return chosen

    def contacts_for(self, step: EscalationStep, overrides: dict[str, str]) -> list[tuple[Contact, bool]]:
        """The people a notify step reaches, each with whether they are on call now."""
        role = step.notify or ""
        of_role = [c for c in self.config.contacts if c.role == role]
        if step.on_call:
            chosen = overrides.get(role)
            if chosen:
                known = next((c for c in self.config.contacts if c.slack == chosen), None)
                contact = known or Contact(role=role, name=chosen, slack=chosen)
                return [(contact, True)]
            flagged = [c for c in of_role if c.on_call]
            return [(c, True) for c in (flagged or of_role[:1])]
        on_call_ids = set(overrides.values()) | {c.slack for c in self.config.contacts if c.on_call}
        return [(c, c.slack in on_call_ids) for c in of_role]

    async def resolve_page(self, payload: dict[str, Any], at: datetime, unless_ack: bool) -> list[PlannedStep] | None:
        """Who a rota page goes to, asked when it is sent (`at`, the claim's time), not when the
        incident was declared: a hand-off in between pages the new on-call. The answer is written
        into `payload` (kept on a retry, so a retried page never changes person). In a gap the
        page goes nowhere itself: the steps returned page the role's other contacts instead and
        say so in the thread."""
        role = str(payload["rota"])
        async with self.db.connection() as conn:
            shift = await self.oncall.who(conn, role, at)
        if shift is not None:
            known = next((c for c in self.config.contacts if c.slack == shift.user), None)
            payload.update(user=shift.user, name=known.name if known else shift.user, resolved_at=at.isoformat())
            return None
        others = [c for c in self.config.contacts if c.role == role]
        tier: dict[str, Any] = {k: payload[k] for k in ("policy_step", "after_s", "escalation") if k in payload}
        steps = [PlannedStep("note", {"event": "rota_gap", "role": role, "users": [c.slack for c in others]}, at)]
        for contact in others:
            page: dict[str, Any] = {"user": contact.slack, "name": contact.name, "role": role, "on_call": False}
            page.update(tier, gap=True)
            steps.append(PlannedStep("page", page, at, unless_ack))
        return steps

    def plan(self, severity: str, declared_at: datetime, overrides: dict[str, str]) -> list[PlannedStep]:
        """Turn the policy into dated steps; the first one opens the incident's thread."""
        steps = [PlannedStep("announce", {}, declared_at)]
        any_hour = severity in ANY_HOUR_SEVERITIES
        for index, step in enumerate(self.config.escalation.policies.get(severity, [])):
            after = step.after or timedelta(0)
            due = declared_at + after
            tier = {"policy_step": index, "after_s": after.total_seconds()}
            unless_ack = step.unless == "acknowledged"
            if step.notify is not None:
                for contact, on_call in self.contacts_for(step, overrides):
                    when = due if any_hour else next_reachable(contact, due, self.config.timezone, on_call)
                    payload = {
                        "user": contact.slack,
                        "name": contact.name,
                        "role": contact.role,
                        "on_call": on_call,
                        **tier,
                        "escalation": step.after is not None,
                    }
                    if step.on_call and self.oncall.rota(contact.role) is not None:
                        payload["rota"] = contact.role  # who: asked of the rota when the page is sent
                    steps.append(PlannedStep("page", payload, when, unless_ack))
                    if when > due:
                        tz = contact.timezone or self.config.timezone
                        waiting = {"event": "waiting_hours", "user": contact.slack, "when": when.isoformat(), "tz": tz}
                        steps.append(PlannedStep("note", waiting, due))
            elif step.ticket:
                steps.append(PlannedStep("ticket", dict(tier), due, unless_ack))
            elif step.checklist is not None:
                steps.append(PlannedStep("checklist", {"items": step.checklist, **tier}, due, unless_ack))
        return steps

    # ---- lifecycle -----------------------------------------------------------------

    def _severity_error(self, severity: str, title: str) -> BotError:
        """Unknown severity; when the title holds one (`DB is down sev1`), say where it goes."""
        known = self.config.escalation.severities
        words = [severity, *title.split()]
        found = next((w for w in words if w.lower() in known), None)
        if found is None:
            return BotError("incident.unknown_severity", severities=", ".join(known))
        rest = [w for w in words if w is not found]
        example = f"{self.config.slack.command} incident declare {found.lower()} {' '.join(rest)[:80]}"
        return BotError("incident.severity_first", severity=found.lower(), example=example)

    async def declare(self, severity: str, title: str, user_id: str, channel_id: str | None) -> Incident:
        if severity.lower() not in self.config.escalation.severities:
            raise self._severity_error(severity, title)
        severity = severity.lower()
        async with self.db.connection() as conn, conn.transaction():
            now = await self.now(conn)
            row = await conn.fetchrow(
                "INSERT INTO incidents (severity, title, declared_by, declared_at, declared_in, channel_id)"
                f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INCIDENT_COLUMNS}",
                severity,
                title,
                user_id,
                now,
                channel_id,
                self.config.slack.incident_channel,
            )
            incident = Incident.from_row(row)
            planned = self.plan(severity, now, await self.on_call_overrides(conn, now))
            await self.insert_steps(conn, incident.id, planned)
            if severity in self.config.escalation.policies:
                for step in self.config.escalation.policies[severity]:
                    for position, text in enumerate(step.checklist or []):
                        await conn.execute(
                            "INSERT INTO checklist_items (incident_id, position, text) VALUES ($1, $2, $3)",
                            incident.id,
                            position,
                            text,
                        )
        return incident

    async def insert_steps(self, conn: asyncpg.Connection, incident_id: int | None, steps: list[PlannedStep]) -> None:
        start = 0
        if incident_id is not None:
            start = int(
                await conn.fetchval(
                    "SELECT coalesce(max(position) + 1, 0) FROM escalation_steps WHERE incident_id = $1", incident_id
                )
            )
        await conn.executemany(
            "INSERT INTO escalation_steps (incident_id, position, kind, payload, due_at, unless_ack)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
            [
                (
                    incident_id,
                    start + i if s.position is None else s.position,
                    s.kind,
                    json.dumps(s.payload),
                    s.due_at,
                    s.unless_ack,
                )
                for i, s in enumerate(steps)
            ],
        )
        await conn.execute("SELECT pg_notify($1, '')", STEPS_CHANNEL)  # on commit: every replica's worker looks

    async def queue_notice(
        self, conn: asyncpg.Connection, to: str, text: str, buttons: Sequence[tuple[str, str, str | None]] = ()
    ) -> None:
        """Queue a message to a person (a DM) or a channel, with buttons (label, command, style),
        sent by the escalation worker like every other step: once, surviving a restart."""
        payload = {"to": to, "text": text, "buttons": [list(b) for b in buttons]}
        await self.insert_steps(conn, None, [PlannedStep("notice", payload, await self.now(conn))])

    async def note(self, conn: asyncpg.Connection, incident_id: int | None, payload: dict[str, Any]) -> None:
        """Queue a timeline entry; the worker posts it into the thread (or the channel)."""
        await self.insert_steps(conn, incident_id, [PlannedStep("note", payload, await self.now(conn))])

    async def get(self, incident_id: int) -> Incident | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1", incident_id)
        return Incident.from_row(row) if row else None

    async def pick(self, incident_id: int | None, states: tuple[str, ...]) -> Incident:
        """The incident named, or the only one in `states`; a clear error when ambiguous."""
        if incident_id is not None:
            incident = await self.get(incident_id)
            if incident is None:
                raise BotError("incident.not_found", ref=f"INC-{incident_id}")
            return incident
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state = ANY($1::text[]) ORDER BY id DESC LIMIT 6",
                list(states),
            )
        if not rows:
            raise BotError("incident.none_open")
        if len(rows) > 1:
            refs = ", ".join(f"INC-{r['id']}" for r in rows[:5])
            raise BotError("incident.which", refs=refs)
        return Incident.from_row(rows[0])

    async def acknowledge(self, incident_id: int | None, user_id: str) -> tuple[Incident, int]:
        """Record who acknowledged; stop the steps that wait `unless: acknowledged`."""
        target = await self.pick(incident_id, ("open",))
        async with self.db.connection() as conn, conn.transaction():
            now = await self.now(conn)
            row = await conn.fetchrow(
                "UPDATE incidents SET state = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3"
                f" WHERE id = $1 AND state = 'open' RETURNING {INCIDENT_COLUMNS}",
                target.id,
                user_id,
                now,
            )
            if row is None:
                current = await self.get(target.id)
                raise BotError("incident.already", ref=target.ref, state=current.state if current else "?")
            stopped = await conn.fetchval(
                "WITH s AS (UPDATE escalation_steps SET state = 'stopped' WHERE incident_id = $1"
                " AND state = 'pending' AND unless_ack RETURNING 1) SELECT count(*) FROM s",
                target.id,
            )
            await self.note(conn, target.id, {"event": "acknowledged", "user": user_id, "stopped": int(stopped)})
        return Incident.from_row(row), int(stopped)

    async def resolve(self, incident_id: int | None, user_id: str, note: str | None) -> tuple[Incident, dict[str, Any]]:
        target = await self.pick(incident_id, ("open", "acknowledged"))
        async with self.db.connection() as conn, conn.transaction():
            now = await self.now(conn)
            row = await conn.fetchrow(
                "UPDATE incidents SET state = 'resolved', resolved_by = $2, resolved_at = $3, resolution = $4"
                f" WHERE id = $1 AND state <> 'resolved' RETURNING {INCIDENT_COLUMNS}",
                target.id,
                user_id,
                now,
                note,
            )
            if row is None:
                raise BotError("incident.already", ref=target.ref, state="resolved")
            await conn.execute(
                "UPDATE escalation_steps SET state = 'cancelled' WHERE incident_id = $1 AND state = 'pending'"
                " AND kind IN ('page', 'ticket', 'checklist')",
                target.id,
            )
            fired = await conn.fetchval(  # a page in flight (leased) is already going out: it counts
                "SELECT count(*) FROM escalation_steps WHERE incident_id = $1 AND state IN ('done', 'sending')"
                " AND kind = 'page'",
                target.id,
            )
            incident = Incident.from_row(row)
            summary = {
                "event": "resolved",
                "user": user_id,
                "note": note or "",
                "duration_s": int((now - incident.declared_at).total_seconds()),
                "acknowledged_by": incident.acknowledged_by,
                "pages": int(fired),
            }
            await self.note(conn, target.id, summary)
            # after the resolution's line, the postmortem draft as a file in the thread
            await self.insert_steps(conn, target.id, [PlannedStep("report", {}, await self.now(conn))])
        return incident, summary

    async def recent(self, limit: int = 15) -> list[Incident]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {INCIDENT_COLUMNS} FROM incidents ORDER BY (state = 'resolved'), id DESC LIMIT $1", limit
            )
        return [Incident.from_row(r) for r in rows]

    async def steps(self, incident_id: int) -> list[StepRow]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT id, kind, state, due_at, fired_at, late_ms, payload FROM escalation_steps"
                " WHERE incident_id = $1 ORDER BY position",
                incident_id,
            )
        return [
            StepRow(r["id"], r["kind"], r["state"], r["due_at"], r["fired_at"], r["late_ms"], json.loads(r["payload"]))
            for r in rows
        ]

    async def tick(self, incident_id: int, position: int, user_id: str) -> tuple[str, bool]:
        """Tick (or untick) a checklist item; the worker refreshes the checklist message."""
        async with self.db.connection() as conn, conn.transaction():
            now = await self.now(conn)
            row = await conn.fetchrow(
                "UPDATE checklist_items SET done_by = CASE WHEN done_by IS NULL THEN $3 END,"
                " done_at = CASE WHEN done_by IS NULL THEN $4::timestamptz END"
                " WHERE incident_id = $1 AND position = $2 RETURNING text, done_by",
                incident_id,
                position,
                user_id,
                now,
            )
            if row is None:
                raise BotError("incident.no_item", ref=f"INC-{incident_id}")
            await self.insert_steps(conn, incident_id, [PlannedStep("checklist_refresh", {}, now)])
            await self.note(
                conn,
                incident_id,
                {"event": "ticked", "user": user_id, "item": row["text"], "done": bool(row["done_by"])},
            )
        return str(row["text"]), bool(row["done_by"])

    async def checklist(self, incident_id: int) -> list[asyncpg.Record]:
        async with self.db.connection() as conn:
            return list(
                await conn.fetch(
                    "SELECT position, text, done_by FROM checklist_items WHERE incident_id = $1 ORDER BY position",
                    incident_id,
                )
            )

    # ---- on call ----------------------------------------------------------------------

    async def on_call(self) -> dict[str, str]:
        """role -> Slack id of who is on call: a role with a rota by its rota (overrides included;
        left out in a gap), any other by its handover, else ops.yml's `on_call: true`."""
        async with self.db.connection() as conn:
            overrides = await self.on_call_overrides(conn)
        result = {c.role: c.slack for c in self.config.contacts if c.on_call and self.oncall.rota(c.role) is None}
        result.update(overrides)
        return result

    async def hand_over(self, role: str, user_id: str, by: str) -> tuple[str | None, datetime | None]:
        """Persist the handover and announce it in the incident channel; returns who was on call
        and, for a role with a rota, when the override it became ends (the next hand-off)."""
        previous = (await self.on_call()).get(role)
        until: datetime | None = None
        async with self.db.connection() as conn, conn.transaction():
            now = await self.now(conn)
            rota = self.oncall.rota(role)
            if rota is not None:
                until = rota.next_change(now) or now + FALLBACK_SET
                await self.oncall.add_override(conn, role, user_id, now, until, by, kind="set")
            else:
                await conn.execute(
                    "INSERT INTO oncall (role, user_id, set_by, set_at) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (role) DO UPDATE SET user_id = $2, set_by = $3, set_at = $4",
                    role,
                    user_id,
                    by,
                    now,
                )
            await self.note(
                conn, None, {"event": "handover", "role": role, "user": user_id, "by": by, "previous": previous}
            )
        return previous, until
