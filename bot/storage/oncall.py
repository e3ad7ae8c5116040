"""On-call overrides and swap/cover requests in the bot's Postgres, and who is on call by them.

An override (`/ops oncall set`, `override`, an accepted swap or cover) is a row that is only
ever added, never changed: it starts no earlier than the moment it is written, so an edit never
rewrites a shift that has already happened, and the rows are the audit of who changed what.
A request (swap, cover) is answered once: the answer is a conditional UPDATE of a `pending`
row, and the override it makes carries the request's id under a unique index, so two replicas
(or two clicks) cannot both take it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import asyncpg

from bot.config.ops_yml import OpsConfig
from bot.oncall.ical import parse_feed, render_feed
from bot.oncall.rota import CompiledRota, Override, RotaBook, Shift
from bot.storage.database import BotDatabase, Clock, database_now

log = logging.getLogger(__name__)
IMPORT_TIMEOUT = 10.0  # seconds for the whole fetch of an `import:` feed
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_BEHIND = timedelta(days=31)
IMPORT_AHEAD = timedelta(days=400)
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
        return await database_now(conn, self.clock)

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

    async def refresh_imports(self, timeout: float = IMPORT_TIMEOUT) -> dict[str, str]:
        """Read every rota's `import:` feed (each within `timeout`) into its lowest layer; a feed
        that fails keeps the last good copy (from memory, else the one stored in Postgres, so a
        restart while the feed is down still has it). Returns role -> "ok" or why not."""
        outcome: dict[str, str] = {}
        for role, rota in self.book.rotas.items():
            url = rota.rota.import_
            if url is None:
                continue
            body, error = await self._fetch(url, timeout)
            async with self.db.connection() as conn:
                now = await self.now(conn)
                if body is not None:
                    try:
                        shifts, nameless = parse_feed(
                            body, list(self.config.contacts), now - IMPORT_BEHIND, now + IMPORT_AHEAD
                        )
                    except ValueError as exc:
                        body, error = None, str(exc)
                    else:
                        rota.imported = shifts
                        if nameless:
                            log.warning("oncall %s import: %d event(s) name nobody known; left out", role, nameless)
                        await conn.execute(
                            "INSERT INTO oncall_imports (role, url, body, fetched_at, tried_at, last_error)"
                            " VALUES ($1, $2, $3, $4, $4, NULL) ON CONFLICT (role) DO UPDATE"
                            " SET url = $2, body = $3, fetched_at = $4, tried_at = $4, last_error = NULL",
                            role,
                            _url_key(url),
                            body,
                            now,
                        )
                        outcome[role] = "ok"
                        continue
                log.warning("oncall %s import not read (%s); keeping the last good copy", role, error)
                outcome[role] = error or "failed"
                row = await conn.fetchrow(
                    "UPDATE oncall_imports SET tried_at = $2, last_error = $3 WHERE role = $1 AND url = $4"
                    " RETURNING body",
                    role,
                    now,
                    (error or "")[:300],
                    _url_key(url),
                )
                if not rota.imported and row is not None and row["body"] is not None:
                    rota.imported, _ = parse_feed(
                        bytes(row["body"]), list(self.config.contacts), now - IMPORT_BEHIND, now + IMPORT_AHEAD
                    )
        return outcome

    async def _fetch(self, url: str, timeout: float) -> tuple[bytes | None, str | None]:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    return None, f"HTTP {response.status}"
                body = await response.content.read(IMPORT_MAX_BYTES + 1)
                if len(body) > IMPORT_MAX_BYTES:
                    return None, f"over {IMPORT_MAX_BYTES} bytes"
                return body, None
        except TimeoutError:
            return None, f"no answer within {timeout:g}s"
        except (aiohttp.ClientError, OSError) as exc:
            return None, type(exc).__name__

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


def _url_key(url: str) -> str:
    """The feed's address as stored: a digest, since a feed URL often carries a secret token."""
    return hashlib.sha256(url.encode()).hexdigest()
