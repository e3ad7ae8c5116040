"""`import:` reads another calendar's iCal feed (from a local HTTP server) as the rota's lowest
layer; a feed that fails or hangs past the timeout keeps the last good copy, also across a
restart (a new store reads it from Postgres)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from conftest import RuntimeFactory
from oncall_parts import local, rota_config

from bot.storage.oncall import OncallStore

FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:nights@test\r
DTSTAMP:20261201T000000Z\r
DTSTART;TZID=America/Santiago:20261207T180000\r
DTEND;TZID=America/Santiago:20261208T090000\r
RRULE:FREQ=DAILY;COUNT=30\r
SUMMARY:Nights U0NIGHTS\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:ana@test\r
DTSTAMP:20261201T000000Z\r
DTSTART:20261207T150000Z\r
DTEND:20261207T160000Z\r
SUMMARY:Ana Rojas\r
END:VEVENT\r
END:VCALENDAR\r
"""


@dataclass
class Feed:
    """A calendar server whose answer the test changes: the feed, an error status, or a hang."""

    mode: str = "ok"
    hits: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, _: web.Request) -> web.Response:
        self.hits.append(self.mode)
        if self.mode == "hang":
            await asyncio.sleep(30)
        if self.mode == "error":
            return web.Response(status=503, text="down")
        return web.Response(body=FEED, content_type="text/calendar")


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    served = Feed()
    app = web.Application()
    app.router.add_get("/cal.ics", served.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}/cal.ics?key=secret-in-the-url"
    yield served
    await runner.cleanup()


def _config(url: str) -> str:
    text = rota_config(hours="09:00-18:00")  # the layer covers days; the imported feed nights
    return text.replace("    timezone: America/Santiago\n", f"    timezone: America/Santiago\n    import: {url}\n", 1)


async def test_an_imported_feed_is_the_lowest_layer_and_its_last_good_copy_outlives_failures(
    feed: Feed, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await make_runtime(_config(feed.url), database_url=fresh_db_url)
    store = runtime.deps.incidents.oncall
    store.clock = lambda: local(2026, 12, 7, 10, 0)
    assert await store.refresh_imports() == {"devops": "ok"}

    async def who(*moment: int) -> str | None:
        async with runtime.deps.db.connection() as conn:
            shift = await store.who(conn, "devops", local(*moment))
        return shift.user if shift else None

    assert await who(2026, 12, 8, 2, 0) == "U0NIGHTS"  # a recurring event, expanded
    assert await who(2026, 12, 10, 22, 0) == "U0NIGHTS"
    assert await who(2026, 12, 8, 12, 0) == "U0DEVOPS2"  # the layer wins where it has a shift
    assert await who(2026, 12, 7, 12, 30) == "U0DEVOPS"  # ... even over the feed's 12:00-13:00 event
    assert await who(2026, 12, 7, 18, 30) == "U0NIGHTS"

    feed.mode = "error"
    assert await store.refresh_imports() == {"devops": "HTTP 503"}
    assert await who(2026, 12, 8, 2, 0) == "U0NIGHTS"
    feed.mode = "hang"
    outcome = await asyncio.wait_for(store.refresh_imports(timeout=0.5), 5)
    assert outcome == {"devops": "no answer within 0.5s"}
    assert await who(2026, 12, 8, 2, 0) == "U0NIGHTS"

    restarted = OncallStore(runtime.deps.db, runtime.deps.config, lambda: local(2026, 12, 7, 10, 0))
    feed.mode = "error"
    await restarted.refresh_imports()  # the feed is down at start: the stored copy is read
    async with runtime.deps.db.connection() as conn:
        shift = await restarted.who(conn, "devops", local(2026, 12, 8, 2, 0))
        stored = await conn.fetchrow("SELECT url, last_error FROM oncall_imports WHERE role = 'devops'")
    assert shift is not None and shift.user == "U0NIGHTS"
    assert stored["last_error"] == "HTTP 503" and "secret" not in stored["url"]
    assert feed.hits == ["ok", "error", "hang", "error"]
