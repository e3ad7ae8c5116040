"""Faults, for real: the bot's own Redis and Postgres, the stack's Postgres and Redis, the Docker
engine and the API are stopped and hung in turn (tests/parts.py) under a real `ops-bot serve`.

Each time: every request is acked within Slack's 3 s; read-only commands say which part is
down; destructive steps are refused, or end as "failed" with what happened, never "done";
and once the part is back on the same address the next command works, without restarting
the bot. Every figure is printed (`pytest -s tests/test_faults.py | grep figure`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from botproc import REDIS_URL, BotLauncher, BotProcess
from conftest import base_config
from e2e import ACK_BUDGET, Answer, Sent, answer, click, new_message_ts, new_user, slash
from parts import DockerSocket, HttpPart, PostgresPart, RedisPart
from slack_emulator import SlackEmulator

from bot.core.dispatcher import AUDIT_WAIT

pytestmark = pytest.mark.timeout(150)

ADMIN = "U0ADMIN"
OPERATOR = "U0OPER"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def launcher(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


StartBot = Callable[..., Any]


@pytest.fixture
def start(launcher: BotLauncher, emu: SlackEmulator, tmp_path: Path, bot_db_url: str, redis_prefix: str) -> StartBot:
    """`await start(**base_config_kwargs)`: `ops-bot serve` on that ops.yml (and the bot's own stores given)."""

    async def start_bot(
        *, database_url: str = bot_db_url, redis_url: str = REDIS_URL, docker_url: str | None = None, **config: Any
    ) -> BotProcess:
        text = base_config(**config)
        if docker_url is not None:
            text = text.replace("url: unix:///var/run/docker.sock", f"url: {docker_url}")
        path = tmp_path / f"ops-{len(launcher.started)}.yml"
        path.write_text(text, encoding="utf-8")
        env = {"REDIS_PREFIX": redis_prefix, "REDIS_URL": redis_url}
        return await launcher.serve(path, emu.api_url, database_url, extra_env=env)

    return start_bot


@pytest.fixture
def redis_part() -> Iterator[RedisPart]:
    part = RedisPart()
    yield part
    part.stop()


@pytest.fixture
def postgres_part() -> Iterator[PostgresPart]:
    part = PostgresPart()
    yield part
    part.close()


class Session:
    """Requests to one bot, each checked against the ack budget, with figures kept for the report."""

    def __init__(self, bot: BotProcess, emu: SlackEmulator, name: str) -> None:
        self.bot = bot
        self.emu = emu
        self.name = name
        self.acks: list[float] = []

    def _acked(self, sent: Sent, what: str) -> Sent:
        assert sent.status == 200, (what, sent.status, sent.answer)
        assert sent.seconds < ACK_BUDGET, f"{what}: ack took {sent.seconds:.2f}s"
        self.acks.append(sent.seconds)
        return sent

    async def type(self, text: str, user: str = ADMIN) -> Sent:
        return self._acked(await slash(self.bot, self.emu, text, user), text)

    async def click(self, command: str, user: str = ADMIN) -> Sent:
        return self._acked(await click(self.bot, self.emu, command, user, message_ts=new_message_ts()), command)

    async def ask(self, text: str, until: str, user: str = ADMIN, timeout: float = 20.0) -> Answer:
        """Type `text` and wait for an answer matching the regex `until`."""
        sent = await self.type(text, user)
        return await answer(self.emu, sent, lambda shown: re.search(until, shown) is not None, timeout)

    async def health(self) -> dict[str, str]:
        status, body = await self.bot.get("/healthz")
        assert status == 200
        stores = dict(json.loads(body))
        stores.pop("work", None)  # the lanes' use (bot/core/lanes.py), not a store
        return stores

    def figure(self, state: str, **answers: Answer) -> None:
        """Print the acks and answer times of one state, and what each answer said."""
        times = ", ".join(f"{name} {a.after:.2f}s" for name, a in answers.items())
        print(f"figure {self.name} {state}: ack max {max(self.acks):.3f}s over {len(self.acks)} requests; {times}")
        for name, a in answers.items():
            print(f"  said {self.name} {state} {name}: {' '.join(a.text.split())[:220]}")
        self.acks.clear()


REFUSED_REDIS = r"The bot's Redis is unreachable, so `/ops tenant disable` is refused"
REFUSED_DB = r"The bot's audit database is unreachable, so `/ops tenant disable` is refused"
PREVIEW = r"Confirm[\s\S]*Cancel"


# ---------------------------------------------------------------------- the bot's own stores


async def test_the_bots_redis_stopped_or_hung_refuses_destructive_steps_and_heals_by_itself(
    start: StartBot, emu: SlackEmulator, redis_part: RedisPart, target_db_url: str
) -> None:
    bot = await start(redis_url=redis_part.url, target_db=target_db_url)
    s = Session(bot, emu, "bot-redis")
    await s.ask("tenant disable zz9", PREVIEW)

    for state in ("stopped", "hung"):
        if state == "stopped":
            redis_part.stop()
        else:
            redis_part.start()
            redis_part.hang()
        read = await s.ask("contacts", "Ana Rojas", new_user())
        refused = await s.ask("tenant disable zz9", REFUSED_REDIS)
        assert "Confirm" not in refused.text
        assert (await s.health())["redis"] != "ok"
        s.figure(state, contacts=read, refused=refused)

    redis_part.resume()
    back = await s.ask("tenant disable zz9", PREVIEW)
    assert await s.health() == {"status": "ok", "database": "ok", "redis": "ok"}
    s.figure("back", preview=back)
    assert "Traceback" not in bot.stderr()


async def test_the_bots_database_stopped_or_hung_refuses_destructive_steps_and_heals_by_itself(
    start: StartBot, emu: SlackEmulator, postgres_part: PostgresPart, target_db_url: str
) -> None:
    bot = await start(database_url=postgres_part.url(), target_db=target_db_url)
    s = Session(bot, emu, "bot-postgres")
    await s.ask("tenant disable zz9", PREVIEW)

    for state in ("stopped", "hung"):
        if state == "stopped":
            postgres_part.stop()
        else:
            postgres_part.start()
            await s.ask("contacts", "Ana Rojas")  # the pool reconnects before the hang
            postgres_part.hang()
        read = await s.ask("contacts", "Ana Rojas", new_user())
        assert read.after < AUDIT_WAIT + 1.5, f"a read-only answer waited {read.after:.1f}s for its audit row"
        refused = await s.ask("tenant disable zz9", REFUSED_DB)
        assert "Confirm" not in refused.text
        assert (await s.health())["database"] != "ok"
        s.figure(state, contacts=read, refused=refused)

    postgres_part.resume()
    user = new_user()
    back = await s.ask("contacts", "Ana Rojas", user)
    await s.ask("tenant disable zz9", PREVIEW)
    assert (await s.health())["database"] == "ok"
    s.figure("back", contacts=back)
    conn = await asyncpg.connect(postgres_part.url(), timeout=5)
    try:
        written = await conn.fetchval("SELECT count(*) FROM audit_log WHERE user_id = $1", user)
    finally:
        await conn.close()
    assert written == 1, "the audit rows come back with the database"
    assert "audit row not written" in bot.stderr()
    assert "Traceback" not in bot.stderr()


# ---------------------------------------------------------------------- the stack


async def tenant_active(dsn: str, tenant: str) -> bool:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return bool(await conn.fetchval("SELECT active FROM tenants WHERE id = $1", tenant))
    finally:
        await conn.close()


async def test_the_stacks_database_stopped_or_hung_is_named_and_a_step_in_flight_ends_failed_not_done(
    start: StartBot, emu: SlackEmulator, postgres_part: PostgresPart
) -> None:
    dsn = postgres_part.url()
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.execute("CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL)")
    await conn.execute("INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true)")
    await conn.close()
    bot = await start(target_db=dsn)
    s = Session(bot, emu, "stack-postgres")
    preview = await s.ask("tenant disable abc123", PREVIEW)

    postgres_part.stop()
    shown = await s.ask("tenant show abc123", r"postgres")
    assert re.search(r"refused|connect", shown.text, re.I), shown.text
    refused = await s.ask("tenant enable abc123", r"postgres")
    assert "Confirm" not in refused.text
    confirmed = await answer(emu, await s.click(preview.button("confirm")), lambda t: "failed" in t)
    assert "done" not in confirmed.text and "postgres" in confirmed.text, confirmed.text
    s.figure("stopped", show=shown, refused=refused, confirmed=confirmed)

    postgres_part.start()
    assert await tenant_active(dsn, "abc123"), "a failed disable left the tenant half-disabled"
    await s.ask("tenant show abc123", r"Tienda ABC")
    postgres_part.hang()
    hung = await s.ask("tenant show abc123", r"postgres.*(timed out|within)")
    s.figure("hung", show=hung)

    postgres_part.resume()
    back = await s.ask("tenant show abc123", r"Tienda ABC")
    s.figure("back", show=back)


async def test_the_stacks_redis_stopped_or_hung_is_named_and_an_interrupted_flush_says_so(
    start: StartBot, emu: SlackEmulator, redis_part: RedisPart
) -> None:
    client = redis_part.client()
    client.mset({f"tenant:t1:key:{n}": "v" for n in range(5)})
    bot = await start(target_redis=redis_part.url)
    s = Session(bot, emu, "stack-redis")
    preview = await s.ask("cache flush-tenant t1", PREVIEW, OPERATOR)

    redis_part.hang()
    ping = await s.ask("cache ping", r"redis")
    confirmed = await answer(emu, await s.click(preview.button("confirm"), OPERATOR), lambda t: "failed" in t)
    assert "done" not in confirmed.text, confirmed.text
    assert re.search(r"(?i)interrupted|stopped|redis", confirmed.text), confirmed.text
    s.figure("hung", ping=ping, confirmed=confirmed)
    redis_part.resume()
    assert len(client.keys("tenant:t1:*")) == 5, "keys were deleted although the flush was reported failed"
    client.close()

    redis_part.stop()
    down = await s.ask("cache ping", r"redis")
    refused = await s.ask("cache flush-tenant t1", r"redis", OPERATOR)
    assert "Confirm" not in refused.text
    s.figure("stopped", ping=down, refused=refused)

    redis_part.start()
    back = await s.ask("cache ping", r"PONG")
    s.figure("back", ping=back)


async def test_a_stopped_or_hung_docker_engine_is_named_and_the_bot_uses_it_again_when_it_is_back(
    start: StartBot, emu: SlackEmulator, tmp_path: Path, compose_project: str
) -> None:
    engine = DockerSocket(tmp_path)
    try:
        bot = await start(docker_url=engine.url, project=compose_project, timeout="1s")
        s = Session(bot, emu, "docker")
        ps = await s.ask("ps", r"(?i)docker")
        refused = await s.ask("restart api", r"(?i)docker", OPERATOR)
        assert "Confirm" not in refused.text
        s.figure("stopped", ps=ps, refused=refused)

        await engine.hang()
        status_sent = await s.type("status")
        restart_sent = await s.type("restart api", OPERATOR)
        status = await answer(emu, status_sent, lambda t: "container api" in t)
        assert re.search(r"container api\* — no answer within 1s", status.text), status.text
        hung = await answer(emu, restart_sent, lambda t: "docker" in t.lower(), timeout=30)
        assert "Confirm" not in hung.text
        s.figure("hung", status=status, refused=hung)

        await engine.real()
        back = await s.ask("ps", rf"{compose_project}-api-1")
        await s.ask("restart api", PREVIEW, OPERATOR)
        s.figure("back", ps=back)
    finally:
        await engine.stop()


async def test_a_hung_or_stopped_api_is_named_and_checked_again_when_it_is_back(
    start: StartBot, emu: SlackEmulator
) -> None:
    api = HttpPart()
    try:
        await api.hang()
        bot = await start(api_url=api.url, health={"api": "/health"}, timeout="1s")
        s = Session(bot, emu, "api")
        hung = await s.ask("health", r"API /health\* — no answer within 1s")
        s.figure("hung", health=hung)
        await api.stop()
        stopped = await s.ask("health", r"❌ \*API /health\* — API unreachable: connection refused")
        s.figure("stopped", health=stopped)
        await api.real()
        back = await s.ask("health", r"✅ \*API /health\* — HTTP 200")
        s.figure("back", health=back)
    finally:
        await api.stop()
    await asyncio.sleep(0)
