"""Postgres pools with a timeout on every step: the bot's own database and the stack's.

A pool opens no connection at start (min_size=0), so the bot starts and answers while a
database is down, and reconnects by itself once it is back. The bot's own database also
carries the migrations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from bot.storage.migrations import migrate
from bot.text.errors import BotError, TargetError, UnavailableError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
COMMAND_TIMEOUT = 5.0
MIGRATE_TIMEOUT = 60.0
_DOWN = (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError)


def short_error(exc: BaseException) -> str:
    """One line of an exception, for a user or a log (callers redact)."""
    if isinstance(exc, BotError):
        return str(exc.fields.get("detail", exc.key))
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


class SerialConnection:
    """One connection shared by concurrent tasks inside one transaction, one statement at a
    time (asyncpg refuses a second statement while one is in flight on a connection).

    The escalation worker sends a batch of steps concurrently; their few writes join the
    batch's transaction through this, so a step's writes still commit with its done mark."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    async def execute(self, query: str, *args: object) -> str:
        async with self._lock:
            return str(await self._conn.execute(query, *args))

    async def executemany(self, query: str, args: list[tuple[object, ...]]) -> None:
        async with self._lock:
            await self._conn.executemany(query, args)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        async with self._lock:
            return list(await self._conn.fetch(query, *args))

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        async with self._lock:
            return await self._conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: object) -> Any:
        async with self._lock:
            return await self._conn.fetchval(query, *args)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """The release step of the bot's own pool: nothing beyond what asyncpg always does.

    asyncpg always rolls back an open transaction and drops listeners when a connection goes
    back to the pool; its default reset adds one more round trip on every release (advisory
    unlock, CLOSE ALL, UNLISTEN, RESET ALL). The bot's code sets no session state on a pooled
    connection (its LISTEN and the migrations' session lock use connections of their own), and
    that round trip was a quarter of an alert burst's time (bench/alerts.py, py-spy)."""


class PgPool:
    """A lazily created asyncpg pool; `down` turns a connection failure into the right BotError.

    `keeps_no_session_state` is for a pool only the bot's own code uses (see _no_session_state);
    the stack's pools keep asyncpg's full reset."""

    def __init__(
        self, dsn: str, down: Callable[[str], BotError], max_size: int = 5, keeps_no_session_state: bool = False
    ) -> None:
        self._dsn = dsn
        self._down = down
        self._max_size = max_size
        self._reset = _no_session_state if keeps_no_session_state else None
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @property
    def dsn(self) -> str:
        """For a connection of one's own outside the pool (a LISTEN); never shown or logged."""
        return self._dsn

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._max_size,
                    timeout=CONNECT_TIMEOUT,
                    command_timeout=COMMAND_TIMEOUT,
                    max_inactive_connection_lifetime=60,
                    reset=self._reset,
                )
            return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, or the `down` error within a few seconds."""
        try:
            pool = await asyncio.wait_for(self._get_pool(), CONNECT_TIMEOUT + 1)
            conn = await pool.acquire(timeout=CONNECT_TIMEOUT)
        except _DOWN as exc:
            raise self._down(short_error(exc)) from None
        try:
            yield conn
        except asyncpg.exceptions.InternalClientError as exc:
            # A query on a connection the server closed a moment ago, before the client noticed.
            raise self._down(short_error(exc)) from None
        finally:
            try:
                await pool.release(conn)
            except (*_DOWN, asyncpg.exceptions.InternalClientError) as exc:
                # asyncpg has already terminated the connection (the next acquire opens a new one);
                # raising here would replace the error the caller is handling with a bare timeout.
                log.info("dropped a broken connection: %s", short_error(exc))

    async def ping(self) -> None:
        async with self.connection() as conn:
            try:
                await conn.fetchval("SELECT 1", timeout=2)
            except _DOWN as exc:
                raise self._down(short_error(exc)) from None

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None


Clock = Callable[[], datetime]
"""A pinned clock a test hands a store; None everywhere in the product."""


async def database_now(conn: asyncpg.Connection, clock: Clock | None = None) -> datetime:
    """The time of this transaction by the database's clock (or the pinned test clock): times
    written by one replica are read by all, so no replica's own clock may set them."""
    if clock is not None:
        return clock()
    value: datetime = await conn.fetchval("SELECT now()")
    return value


class BotDatabase(PgPool):
    """The bot's own Postgres: audit, incidents, escalation timers."""

    def __init__(self, dsn: str) -> None:
        super().__init__(
            dsn,
            lambda detail: UnavailableError(part="database", detail=detail),
            max_size=20,
            keeps_no_session_state=True,
        )
        self.schema_ready = False

    async def migrate(self) -> list[int]:
        """On a connection of its own: the migrations' session lock ends with it, whatever happens."""
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT, command_timeout=MIGRATE_TIMEOUT)
        except _DOWN as exc:
            raise self._down(short_error(exc)) from None
        try:
            applied = await migrate(conn)
        finally:
            await conn.close(timeout=CONNECT_TIMEOUT)
        self.schema_ready = True
        return applied

    async def keep_migrating(self, interval: float = 10.0, first_retry: float = 0.5) -> None:
        """Retry migrations until they succeed: a bot started while its database was down heals itself.

        The wait doubles from `first_retry` up to `interval`: a replica started beside its database
        (compose, a Swarm stack) migrates within a second of the database answering, instead of
        taking commands for up to `interval` on tables that are not there yet."""
        wait = min(first_retry, interval)
        while not self.schema_ready:
            try:
                applied = await self.migrate()
                if applied:
                    log.info("applied migrations %s", applied)
                return
            except (UnavailableError, *_DOWN) as exc:
                log.warning("bot database not ready (%s); retrying in %ss", short_error(exc), round(wait, 1))
                await asyncio.sleep(wait)
                wait = min(wait * 2, interval)


class TargetDatabase(PgPool):
    """The stack's Postgres (the orders database the runbook operates)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, lambda detail: TargetError("postgres", detail), max_size=3)
