"""A Postgres that stops or hangs under a pooled connection yields the pool's own "down" error,
never a bare asyncpg or timeout exception (which the dispatcher would report as the whole
operation timing out, or as an internal error with an id)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from parts import PostgresPart

from bot.storage.database import TargetDatabase
from bot.text.errors import TargetError


@pytest.fixture
def part() -> Iterator[PostgresPart]:
    server = PostgresPart()
    yield server
    server.close()


async def test_a_query_that_times_out_on_a_hung_server_stays_a_target_error(part: PostgresPart) -> None:
    db = TargetDatabase(part.url())
    try:
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        part.hang()
        with pytest.raises(TargetError):
            async with db.connection() as conn:
                try:
                    await conn.fetchval("SELECT 1", timeout=0.5)
                except TimeoutError:  # what every handler does with a failing query
                    raise TargetError("postgres", "timed out") from None
    finally:
        part.resume()
        await db.close()


async def test_a_query_on_a_connection_the_server_just_closed_is_a_target_error(part: PostgresPart) -> None:
    db = TargetDatabase(part.url())
    try:
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        part.stop()  # blocks: the loop has not seen the connection close yet
        with pytest.raises(TargetError):
            async with db.connection() as conn:
                await conn.fetchval("SELECT 1")
        part.start()
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1, "the pool reconnects by itself"
    finally:
        await db.close()


async def test_migrations_are_retried_soon_after_the_database_refuses_then_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replica started beside its database retries within a second, not after the full interval:
    the waits double from 0.5 s up to the interval, each after a real refused connection."""
    from bot.storage import database
    from bot.storage.database import BotDatabase

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 6:
            raise RuntimeError("enough")

    monkeypatch.setattr(database.asyncio, "sleep", record)
    db = BotDatabase("postgresql://postgres@127.0.0.1:1/none")  # nothing listens on port 1
    with pytest.raises(RuntimeError, match="enough"):
        await db.keep_migrating(interval=10.0)
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert not db.schema_ready
