"""A Postgres LISTEN that survives the database going away.

The escalation worker sleeps until the next step it knows of falls due. A step another
replica adds (a declare typed on replica A) would otherwise wait for the next poll on
replica B; a NOTIFY sent with the insert wakes every replica at once. Notifications sent
while the listener was disconnected are lost, so it calls back once more after every
reconnect, and the worker's poll stays as the last safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from bot.storage.cancel import stop_if_cancelled

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
PROBE_EVERY = 30.0
"""Seconds between checks that a quiet listening connection still answers."""
RETRY = 2.0
"""Seconds between attempts to reopen the listening connection."""


class PgListener:
    """Calls `on_notify` for every NOTIFY on `channel`, over a connection of its own."""

    def __init__(self, dsn: str, channel: str, on_notify: Callable[[], None], retry: float = RETRY) -> None:
        self.dsn = dsn
        self.channel = channel
        self.on_notify = on_notify
        self.retry = retry

    async def run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                stop_if_cancelled()
                log.debug("listening on %s: %s; again in %gs", self.channel, type(exc).__name__, self.retry)
            await asyncio.sleep(self.retry)

    async def _listen_once(self) -> None:
        """Until the connection ends; a NOTIFY missed while it was down is made up for on connecting."""
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: closed.set())
            await conn.add_listener(self.channel, lambda *_args: self.on_notify())
            self.on_notify()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), PROBE_EVERY)
                if not closed.is_set():  # a connection that died without a word answers nothing
                    await conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT)
