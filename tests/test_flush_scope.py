"""`cache flush-all` empties the stack's cache database and nothing else on its server.

One private redis-server holds, as in the demo, three tenants of the same server: the stack's
cache in db 0 (what `stack.redis.url` names), the bot's own keys in db 1 (its REDIS_URL:
confirmations, duplicate checks) and Bull's queue keys in db 2. The runbook's FLUSHALL
emptied all three, so the confirmation flow lost its own state and the queues their jobs.
The flush runs through the real confirmation and second-admin approval.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from confirm_flow import run_confirmed
from conftest import RuntimeFactory, base_config
from private_redis import PrivateRedis, start_private_redis

from bot.core.dispatcher import Invocation
from bot.output.terminal import render_text

ADMIN, APPROVER = "U0ADMIN", "U0ADMIN2"
BOT_PREFIX = "opsbot-flush:"
BULL_KEYS = {"bull:orders:id": "7", "bull:orders:wait": None, "bull:orders:7": None}


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    part = start_private_redis()
    yield part
    part.stop()


def plant_bull(client: redis.Redis) -> None:
    """The keys a Bull queue `orders` with one waiting job keeps."""
    client.set("bull:orders:id", "7")
    client.rpush("bull:orders:wait", "7")
    client.hset("bull:orders:7", mapping={"data": "{}", "opts": "{}"})


def fill_stack(client: redis.Redis, count: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"tenant:abc123:k{i}", "v")
    pipe.execute()


async def test_flush_all_empties_only_the_stacks_database_not_the_bots_nor_the_queues(
    make_runtime: RuntimeFactory, server: PrivateRedis
) -> None:
    stack, bot, queues = server.client(0), server.client(1), server.client(2)
    fill_stack(stack, 120)
    bot.set(BOT_PREFIX + "planted", "the bot's own state")
    plant_bull(queues)
    runtime = await make_runtime(
        base_config(target_redis=f"redis://127.0.0.1:{server.port}/0"),
        redis_url=f"redis://127.0.0.1:{server.port}/1",
        redis_prefix=BOT_PREFIX,
    )
    done = await run_confirmed(runtime, "cache flush-all", ADMIN, approver=APPROVER)
    assert stack.dbsize() == 0
    assert bot.get(BOT_PREFIX + "planted") == b"the bot's own state"
    assert sorted(k.decode() for k in queues.keys("*")) == sorted(BULL_KEYS)
    assert queues.lrange("bull:orders:wait", 0, -1) == [b"7"]
    assert done.ok and "120 keys were there just before, 0 left" in render_text(done).text, render_text(done).text

    fill_stack(stack, 5)
    preview = await runtime.dispatcher.dispatch(Invocation("cache flush-all", ADMIN, "C1", "slack"))
    shown = render_text(preview).text
    assert f"FLUSHDB would delete 5 keys in database 127.0.0.1:{server.port}/0" in shown, shown
    assert "not touched: db1" in shown and "db2 (3)" in shown, shown
    assert "Bull" not in shown and "bot's own" not in shown, "neither shares the stack's database"


async def test_the_preview_warns_when_queues_or_the_bot_share_the_stacks_database(
    make_runtime: RuntimeFactory, server: PrivateRedis
) -> None:
    stack = server.client(0)
    fill_stack(stack, 10)
    plant_bull(stack)
    stack.set(BOT_PREFIX + "planted", "x")
    # the same server spelled differently: the bot says localhost, the stack 127.0.0.1
    runtime = await make_runtime(
        base_config(target_redis=f"redis://127.0.0.1:{server.port}/0"),
        redis_url=f"redis://localhost:{server.port}/0",
        redis_prefix=BOT_PREFIX,
    )
    preview = await runtime.dispatcher.dispatch(Invocation("cache flush-all", ADMIN, "C1", "slack"))
    shown = render_text(preview).text
    assert re.search(r"FLUSHDB would delete 1[45] keys in database", shown), shown
    assert "also holds 3 Bull queue keys (`bull:*`)" in shown, shown
    assert f"also the bot's own (REDIS_URL, prefix `{BOT_PREFIX}`): its " in shown, shown
    assert len(stack.keys("tenant:*")) == 10 and len(stack.keys("bull:*")) == 3, "the preview deleted nothing"
