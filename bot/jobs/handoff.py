"""The rotas' hand-offs, acted on by one replica each: the rota's user group set to whoever is on
call now, a summary for the incoming person in the rota's channel, the `remind` DM before a
shift, and a daily warning when the next 7 days have an uncovered hour.

Every replica runs a `HandoffWatcher`; at each change of person (a layer's hand-off, an override
beginning or ending) every replica tries to insert the row (job, slot) into `scheduled_runs`
(the scheduler's table: a row says "this slot is taken" for good), and only the replica whose
insert lands queues the work. The work itself is durable steps the escalation worker sends
(`usergroup`, `notice`), so Slack being down at the hand-off minute only delays it: the worker
retries, and a `usergroup` step reads who is on call when it goes (bot/incidents/escalation.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from redis.exceptions import RedisError

from bot.core.deps import Deps
from bot.core.waiting import command_of, waiting_records
from bot.incidents.home import state_digest, viewers
from bot.oncall.rota import CompiledRota, Shift
from bot.output.slack import escape
from bot.storage.cancel import stop_if_cancelled
from bot.storage.database import Clock, database_now
from bot.storage.incidents import PlannedStep
from bot.targets.alertmanager import Alertmanager
from bot.text import times
from bot.text.errors import TargetError, UnavailableError
from bot.text.messages import Catalog

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=8)  # how far back the previous shift is looked for
HANDOFF_GRACE = timedelta(minutes=10)  # a hand-off found later than this (a restart) gets no summary
GAP_LOOKAHEAD = timedelta(days=7)
MOVED_AHEAD = timedelta(days=28)  # how far ahead a change of ops.yml is compared, shift by shift
POLL = 20.0
PENDING_SHOWN = 5  # waiting steps named in a hand-off summary; the rest are counted
IMPORT_EVERY = 600.0  # seconds between reads of each rota's `import:` feed (each replica reads its own copy)


def _people(pieces: list[Shift]) -> list[Shift]:
    """The timeline by person: neighbouring pieces of one person (from two layers, or a layer and
    an override) are one stretch, so changing layers is no hand-off."""
    out: list[Shift] = []
    for piece in pieces:
        if out and out[-1].user == piece.user and out[-1].end == piece.start:
            out[-1] = Shift(out[-1].start, piece.end, piece.user, out[-1].layer)
        else:
            out.append(piece)
    return out


class HandoffWatcher:
    def __init__(self, deps: Deps, clock: Clock | None = None, poll: float = POLL) -> None:
        self.deps = deps
        self.clock = clock  # None: the database's clock
        self.poll = poll
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    async def run(self) -> None:
        store = self.deps.incidents.oncall
        imported_at: float | None = None
        while True:
            wait = self.poll
            try:
                if any(r.rota.import_ for r in store.book.rotas.values()) and (
                    imported_at is None or time.monotonic() - imported_at >= IMPORT_EVERY
                ):
                    imported_at = time.monotonic()
                    await store.refresh_imports()
                now = await self.tick()
                changes = [
                    store.book[r].next_change(now, within=timedelta(seconds=self.poll)) for r in store.book.roles()
                ]
                soonest = min((c for c in changes if c is not None), default=None)
                if soonest is not None:
                    wait = max(0.05, min(wait, (soonest - now).total_seconds() + 0.05))
            except (UnavailableError, asyncpg.PostgresError, OSError) as exc:
                stop_if_cancelled()
                log.warning("on-call hand-offs: bot database unavailable (%s); again in %.0fs", exc, wait)
            except Exception:
                stop_if_cancelled()
                log.exception("on-call hand-offs: tick failed")
            await asyncio.sleep(wait)

    async def _claim(self, conn: asyncpg.Connection, job: str, slot: datetime) -> bool:
        row = await conn.fetchval(
            "INSERT INTO scheduled_runs (job, slot, replica) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING job",
            job,
            slot,
            self.replica,
        )
        return row is not None

    async def tick(self) -> datetime:
        """Look at every rota once; returns the time it looked at."""
        store = self.deps.incidents.oncall
        queued = False
        async with self.deps.db.connection() as conn:
            clock = self.clock or self.deps.incidents.clock  # a test pins the incidents' clock: this follows
            now = await database_now(conn, clock)
            for role in sorted(store.book.roles()):
                async with conn.transaction():
                    queued |= await self._rota(conn, role, store.book[role], now)
            async with conn.transaction():
                queued |= await self._homes(conn, now)
        if queued and self.deps.escalation is not None:
            self.deps.escalation.wake()
        return now

    async def _rota(self, conn: asyncpg.Connection, role: str, rota: CompiledRota, now: datetime) -> bool:
        store = self.deps.incidents.oncall
        overrides = await store.overrides(conn, role, now - LOOKBACK)
        stretches = _people(rota.shifts(now - LOOKBACK, now + timedelta(microseconds=1), overrides))
        current = stretches[-1] if stretches and stretches[-1].start <= now < stretches[-1].end else None
        previous = stretches[-2] if current is not None and len(stretches) > 1 else None
        slot = current.start if current else (stretches[-1].end if stretches else None)
        steps: list[PlannedStep] = []
        config = rota.rota
        if slot is not None and await self._claim(conn, f"oncall {role}", slot):
            if config.usergroup:
                steps.append(PlannedStep("usergroup", {"role": role, "usergroup": config.usergroup}, now))
            if config.channel and current is not None and now - slot <= HANDOFF_GRACE:
                until = rota.next_change(now, overrides)
                text = await self._summary(conn, role, rota, current, previous, until)
                steps.append(PlannedStep("notice", {"to": config.channel, "text": text, "buttons": []}, now))
        steps += await self._moved(conn, role, rota, now)
        if config.remind:
            change = rota.next_change(now, overrides, within=config.remind + timedelta(seconds=1))
            incoming = rota.at(change, overrides) if change else None
            if (
                change
                and incoming
                and change - now <= config.remind
                and await self._claim(conn, f"oncall remind {role}", change)
            ):
                when = times.labelled(change, rota.zone)
                text = self.t("oncall.remind", role=role, when=when)
                steps.append(PlannedStep("notice", {"to": incoming.user, "text": text, "buttons": []}, now))
        if config.channel:
            day = datetime(now.year, now.month, now.day, tzinfo=UTC)
            if await self._claim(conn, f"oncall gaps {role}", day):
                gaps = rota.gaps(now, now + GAP_LOOKAHEAD, overrides)
                if gaps:
                    spans = "; ".join(f"{times.local(a, rota.zone)} – {times.local(b, rota.zone)}" for a, b in gaps[:5])
                    text = self.t("oncall.gaps_warning", role=role, spans=spans, count=len(gaps), zone=rota.zone.key)
                    steps.append(PlannedStep("notice", {"to": config.channel, "text": text, "buttons": []}, now))
        if steps:
            await self.deps.incidents.insert_steps(conn, None, steps)
        return bool(steps)

    async def _moved(self, conn: asyncpg.Connection, role: str, rota: CompiledRota, now: datetime) -> list[PlannedStep]:
        """After an ops.yml change to a rota, a DM to each person whose coming shifts it moved
        (the next 4 weeks, by the layers: overrides are told when they are made). Each version
        of the rota's settings (a digest) is kept with the layout it gave; people are told only
        when a version never seen before replaces the latest one, so replicas on two versions
        during a rolling update take turns recording theirs without telling anyone twice."""
        digest = hashlib.sha256(rota.rota.model_dump_json(by_alias=True).encode()).hexdigest()[:16]
        layout = [[s.user, s.start.isoformat(), s.end.isoformat()] for s in rota.shifts(now, now + MOVED_AHEAD)]
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"oncall layout {role}")
        rows = await conn.fetch("SELECT digest, layout, stored_at FROM oncall_layouts WHERE role = $1", role)
        latest = max(rows, key=lambda r: r["stored_at"], default=None)
        seen_before = any(r["digest"] == digest for r in rows)
        if latest is not None and latest["digest"] == digest and now - latest["stored_at"] <= MOVED_AHEAD / 2:
            return []
        await conn.execute(
            "INSERT INTO oncall_layouts (role, digest, layout, stored_at) VALUES ($1, $2, $3::jsonb, $4)"
            " ON CONFLICT (role, digest) DO UPDATE SET layout = $3::jsonb, stored_at = $4",
            role,
            digest,
            json.dumps(layout),
            now,
        )
        if latest is None or seen_before:
            return []
        row = latest
        until = row["stored_at"] + MOVED_AHEAD
        old = json.loads(row["layout"]) if isinstance(row["layout"], str) else row["layout"]

        def coming(items: list[list[str]]) -> dict[str, set[tuple[str, str]]]:
            out: dict[str, set[tuple[str, str]]] = {}
            for user, start, end in items:
                # the running shift is a hand-off's business; a shift reaching the old window's end
                # was cut there when it was recorded, so only shifts wholly inside it compare
                if now < datetime.fromisoformat(start) and datetime.fromisoformat(end) < until:
                    out.setdefault(user, set()).add((start, end))
            return out

        before, after = coming(old), coming(layout)
        steps = []
        for user in sorted(set(before) | set(after)):
            if before.get(user, set()) == after.get(user, set()):
                continue
            spans = sorted(after.get(user, set()))[:5]
            zone = rota.zone
            listed = "; ".join(
                f"{times.local(datetime.fromisoformat(a), zone)} – {times.local(datetime.fromisoformat(b), zone)}"
                for a, b in spans
            )
            text = self.t(
                "oncall.config_moved", role=role, shifts=listed or self.t("oncall.handoff_none"), zone=rota.zone.key
            )
            steps.append(PlannedStep("notice", {"to": user, "text": text, "buttons": []}, now))
        return steps

    async def _silences_ending(self, start: datetime, until: datetime | None, rota: CompiledRota) -> str:
        """The Alertmanager silences that end during the incoming shift (alerts that will start
        paging again); when Alertmanager does not answer, the line says it is not known."""
        t = self.t
        configured = self.deps.config.stack.alertmanager
        assert configured is not None
        client = Alertmanager(self.deps.http, configured.url, configured.timeout.total_seconds())
        try:
            silences = await client.silences()
        except TargetError as exc:
            return t("oncall.handoff_silences_unknown", error=escape(str(exc.fields.get("detail", ""))[:120]))
        end = until or start + GAP_LOOKAHEAD
        ending = sorted(
            (s for s in silences if s.state == "active" and start <= s.endsAt < end), key=lambda s: s.endsAt
        )
        items = [
            f"{escape(','.join(f'{m.name}={m.value}' for m in s.matchers))[:80]} ({times.local(s.endsAt, rota.zone)})"
            for s in ending[:10]
        ]
        return t("oncall.handoff_silences", list="; ".join(items) or t("oncall.handoff_none"))

    async def _pending(self) -> str:
        """The confirmations and approvals waiting at the hand-off (where `/ops pending` reads
        them), at most PENDING_SHOWN; Redis not answering makes the line say it is not known."""
        t = self.t
        prefix = self.deps.config.slack.command
        try:
            records = await waiting_records(self.deps)
        except (RedisError, OSError, TimeoutError):
            return t("oncall.handoff_pending_unknown", command=f"{prefix} pending")
        names = {c.slack: c.name for c in self.deps.config.contacts}
        items = [
            t(
                "oncall.handoff_pending_item",
                command=escape(command_of(prefix, r)[:120]),
                state=t.code("oncall.handoff_pending_state", str(r.get("state"))),
                user=escape(names.get(str(r.get("requester")), str(r.get("requester")))),  # named, not pinged
            )
            for r in records[:PENDING_SHOWN]
        ]
        if len(records) > PENDING_SHOWN:
            items.append(t("oncall.handoff_pending_more", count=len(records) - PENDING_SHOWN))
        return t("oncall.handoff_pending", list="; ".join(items) or t("oncall.handoff_none"))

    async def _homes(self, conn: asyncpg.Connection, now: datetime) -> bool:
        """When what the App Home tabs show changed since the last look (who is on call, incidents,
        alerts, requests), one replica queues a refresh of every tab opened lately: the one whose
        conditional update of the stored digest lands (a row lock decides between replicas)."""
        digest = await state_digest(conn, await self.deps.incidents.oncall.everyone(conn, now))
        changed = await conn.fetchval(
            "INSERT INTO oncall_home_state (key, digest) VALUES ('home', $1) ON CONFLICT (key)"
            " DO UPDATE SET digest = $1 WHERE oncall_home_state.digest <> $1 RETURNING key",
            digest,
        )
        if changed is None:  # the same as last time (or another replica just recorded this change)
            return False
        users = await viewers(conn, now)
        if users:
            await self.deps.incidents.insert_steps(conn, None, [PlannedStep("home", {"user": u}, now) for u in users])
        return bool(users)

    async def _summary(
        self,
        conn: asyncpg.Connection,
        role: str,
        rota: CompiledRota,
        current: Shift,
        previous: Shift | None,
        until: datetime | None,
    ) -> str:
        """The hand-off message for the incoming person: what is burning now, and what the last
        shift saw (incidents, pages, restarts)."""
        t = self.t
        lines = [
            t(
                "oncall.handoff",
                role=role,
                user=f"<@{current.user}>",
                until=times.labelled(until, rota.zone) if until else t("oncall.handoff_open_ended"),
            )
        ]
        if previous is not None:
            lines[0] += " " + t("oncall.handoff_from", user=f"<@{previous.user}>")
        open_rows = await conn.fetch(
            "SELECT id, severity, title, state FROM incidents WHERE state <> 'resolved' ORDER BY id LIMIT 10"
        )
        states = [
            f"INC-{r['id']} {r['severity'].upper()} {escape(r['title'][:80])} ({t.code('incident.state', r['state'])})"
            for r in open_rows
        ]
        lines.append(t("oncall.handoff_open", list="; ".join(states) if states else t("oncall.handoff_none")))
        firing = await conn.fetch(
            "SELECT coalesce(labels->>'alertname', group_key) AS name FROM alert_groups WHERE status = 'firing'"
            " ORDER BY first_seen DESC LIMIT 10"
        )
        names = ", ".join(escape(str(r["name"])[:60]) for r in firing)
        lines.append(t("oncall.handoff_alerts", list=names or t("oncall.handoff_none")))
        lines.append(await self._pending())
        if self.deps.config.stack.alertmanager is not None:
            lines.append(await self._silences_ending(current.start, until, rota))
        if previous is not None:
            span = (previous.start, current.start)
            declared = await conn.fetchval(
                "SELECT count(*) FROM incidents WHERE declared_at >= $1 AND declared_at < $2", *span
            )
            pages = await conn.fetchval(
                "SELECT count(*) FROM escalation_steps WHERE kind = 'page' AND state = 'done'"
                " AND fired_at >= $1 AND fired_at < $2",
                *span,
            )
            restarts = await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE operation = 'restart' AND outcome = 'ok'"
                " AND at >= $1 AND at < $2",
                *span,
            )
            lines.append(t("oncall.handoff_last", incidents=int(declared), pages=int(pages), restarts=int(restarts)))
        return "\n".join(lines)
