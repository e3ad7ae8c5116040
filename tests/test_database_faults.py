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
