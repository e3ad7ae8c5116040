"""On-call overrides and swap/cover requests in the bot's Postgres, and who is on call by them.

An override (`/ops oncall set`, `override`, an accepted swap or cover) is a row that is only
ever added, never changed: it starts no earlier than the moment it is written, so an edit never
rewrites a shift that has already happened, and the rows are the audit of who changed what.
A request (swap, cover) is answered once: the answer is a conditional UPDATE of a `pending`
row, and the override it makes carries the request's id under a unique index, so two replicas
(or two clicks) cannot both take it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from bot.config.ops_yml import OpsConfig
from bot.oncall.ical import render_feed
from bot.oncall.rota import CompiledRota, Override, RotaBook, Shift
from bot.storage.database import BotDatabase

Clock = Callable[[], datetime]
FEED_AHEAD = timedelta(days=90)
FEED_BEHIND = timedelta(days=31)  # the shift running now is shown from its real start
_REQUEST_COLUMNS = "id, kind, role, asker, target, starts_at, ends_at, back_starts_at, back_ends_at, state, answered_by"


@dataclass(frozen=True)
class Request:
    id: int
    kind: str  # swap | cover
    role: str
    asker: str
    target: str | None
    start: datetime
    end: datetime
    back_start: datetime | None
    back_end: datetime | None
    state: str
    answered_by: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Request:
        return cls(
            row["id"],
            row["kind"],
            row["role"],
            row["asker"],
            row["target"],
            row["starts_at"],
            row["ends_at"],
            row["back_starts_at"],
            row["back_ends_at"],
            row["state"],
            row["answered_by"],
        )


class OncallStore:
    """The rotas of one ops.yml compiled once, and their overrides read from Postgres."""

    def __init__(self, db: BotDatabase, config: OpsConfig, clock: Clock | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock  # None: the database's clock; a test may pin its own
        self.book = RotaBook(config.oncall.rotas, config.timezone)

    async def now(self, conn: asyncpg.Connection) -> datetime:
        if self.clock is not None:
            return self.clock()
        value: datetime = await conn.fetchval("SELECT now()")
        return value

    def rota(self, role: str) -> CompiledRota | None:
        return self.book.rotas.get(role)

    async def overrides(
        self, conn: asyncpg.Connection, role: str, start: datetime, end: datetime | None = None
    ) -> list[Override]:
        """The overrides of `role` that reach past `start` (and begin by `end`)."""
        rows = await conn.fetch(
            "SELECT id, user_id, starts_at, ends_at, kind FROM oncall_overrides"
            " WHERE role = $1 AND ends_at > $2 AND ($3::timestamptz IS NULL OR starts_at <= $3) ORDER BY id",
            role,
            start,
            end,
        )
        return [Override(r["id"], r["starts_at"], r["ends_at"], r["user_id"], r["kind"]) for r in rows]

    async def who(self, conn: asyncpg.Connection, role: str, at: datetime) -> Shift | None:
        """Who the rota of `role` puts on call at `at`, overrides included (None: a gap)."""
        rota = self.rota(role)
        if rota is None:
            return None
        return rota.at(at, await self.overrides(conn, role, at, at))

    async def everyone(self, conn: asyncpg.Connection, at: datetime) -> dict[str, str | None]:
        """role -> who is on call at `at`, for every role with a rota (None: a gap)."""
        out: dict[str, str | None] = {}
        for role in self.book.roles():
            shift = await self.who(conn, role, at)
            out[role] = shift.user if shift else None
        return out

    async def synced(self, conn: asyncpg.Connection, usergroup: str) -> list[str] | None:
        """Who the user group was last set to by the bot (None: never)."""
        users = await conn.fetchval("SELECT users FROM oncall_usergroups WHERE usergroup = $1", usergroup)
        return list(users) if users is not None else None

    async def record_sync(self, conn: asyncpg.Connection, usergroup: str, users: list[str], at: datetime) -> None:
        await conn.execute(
            "INSERT INTO oncall_usergroups (usergroup, users, synced_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (usergroup) DO UPDATE SET users = $2, synced_at = $3",
            usergroup,
            users,
            at,
        )

    async def timeline(self, role: str, start: datetime, end: datetime) -> list[Shift]:
        """The final timeline of `role` over [start, end), overrides included."""
        async with self.db.connection() as conn:
            overrides = await self.overrides(conn, role, start, end)
        return self.book[role].shifts(start, end, overrides)

    async def feed(self, role: str, user: str | None = None) -> bytes:
        """`GET /oncall/<role>.ics`: the shifts running now or to come in the next 90 days (one
        person's when `user` is given), as iCal."""
        async with self.db.connection() as conn:
            now = await self.now(conn)
        shifts = [s for s in await self.timeline(role, now - FEED_BEHIND, now + FEED_AHEAD) if s.end > now]
        if user is not None:
            shifts = [s for s in shifts if s.user == user]
        names = {c.slack: c.name for c in self.config.contacts}
        return render_feed(role, shifts, names, now)

    async def add_override(
        self,
        conn: asyncpg.Connection,
        role: str,
        user: str,
        start: datetime,
        end: datetime,
        by: str,
        kind: str = "override",
        request_id: int | None = None,
    ) -> Override:
        """Write an override; it starts no earlier than now (a past shift is never rewritten)."""
        now = await self.now(conn)
        start = max(start, now)
        if end <= start:
            raise ValueError("an override must end after it starts, and after now")
        row = await conn.fetchrow(
            "INSERT INTO oncall_overrides (role, user_id, starts_at, ends_at, kind, request_id, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            role,
            user,
            start,
            end,
            kind,
            request_id,
            by,
            now,
        )
        return Override(row["id"], start, end, user, kind)

    async def ask(
        self,
        conn: asyncpg.Connection,
        kind: str,
        role: str,
        asker: str,
        target: str | None,
        span: tuple[datetime, datetime],
        back: tuple[datetime, datetime] | None = None,
    ) -> Request:
        """Write a swap or cover request, pending until its first accepted answer."""
        now = await self.now(conn)
        row = await conn.fetchrow(
            "INSERT INTO oncall_requests (kind, role, asker, target, starts_at, ends_at, back_starts_at, back_ends_at,"
            f" created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_REQUEST_COLUMNS}",
            kind,
            role,
            asker,
            target,
            *span,
            *(back or (None, None)),
            now,
        )
        return Request.from_row(row)

    async def answer(self, conn: asyncpg.Connection, request_id: int, user: str, accept: bool) -> tuple[Request, bool]:
        """Answer a request; returns it as it now stands and whether this answer decided it.

        Accepting is one conditional UPDATE of a pending row (call inside a transaction): of two
        replicas or two clicks, exactly one sees the row pending; its overrides are written in the
        same transaction (and a unique index on the request's id makes a second set impossible).
        A declined cover stays open for the others; a declined swap is closed."""
        now = await self.now(conn)
        state = "accepted" if accept else "declined"
        row = await conn.fetchrow(
            f"UPDATE oncall_requests SET state = $3, answered_by = $2, answered_at = $4"
            f" WHERE id = $1 AND state = 'pending' AND (target IS NULL OR target = $2) AND asker <> $2"
            f" AND ($3 = 'accepted' OR kind = 'swap') RETURNING {_REQUEST_COLUMNS}",
            request_id,
            user,
            state,
            now,
        )
        if row is None:
            current = await conn.fetchrow(f"SELECT {_REQUEST_COLUMNS} FROM oncall_requests WHERE id = $1", request_id)
            if current is None:
                raise LookupError(request_id)
            return Request.from_row(current), False
        request = Request.from_row(row)
        if accept and request.end > now:
            await self.add_override(
                conn, request.role, user, request.start, request.end, user, request.kind, request.id
            )
        if accept and request.back_start is not None and request.back_end is not None and request.back_end > now:
            await self.add_override(
                conn,
                request.role,
                request.asker,
                request.back_start,
                request.back_end,
                user,
                request.kind,
                request.id,
            )
        return request, True
