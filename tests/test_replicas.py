"""Two `ops-bot serve` replicas on one Postgres and one Redis behind a round-robin balancer:
a confirmation made on one replica is clicked on the other and runs once; a critical step
is requested, confirmed and approved across both.

That each escalation step fires once with two replicas (and after a kill -9) is proven by
tests/test_escalation_processes.py; a Slack redelivery reaching the other replica runs once:
tests/test_request_integrity.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from botproc import BotLauncher, BotProcess
from conftest import base_config
from e2e import Sent, answer, click, new_message_ts, slash
from parts import RedisPart
from roundrobin import RoundRobin
from slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(90)

OPERATOR, ADMIN, ADMIN2 = "U0OPER", "U0ADMIN", "U0ADMIN2"


@pytest.fixture
def stack_redis() -> Iterator[RedisPart]:
    part = RedisPart()
    yield part
    part.stop()


@pytest.fixture
async def cluster(
    tmp_path: Path, fresh_db_url: str, redis_prefix: str, stack_redis: RedisPart
) -> AsyncIterator[tuple[SlackEmulator, RoundRobin, list[BotProcess]]]:
    """The emulator, the balancer and its two replicas (one bot database, one Redis, one prefix)."""
    config = tmp_path / "ops.yml"
    config.write_text(base_config(target_redis=stack_redis.url), encoding="utf-8")
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        env = {"REDIS_PREFIX": f"{redis_prefix}replicas:"}
        bots = [await launcher.serve(config, emu.api_url, fresh_db_url, extra_env=env) for _ in range(2)]
        balancer = await RoundRobin([b.url or "" for b in bots]).start()
        try:
            yield emu, balancer, bots
        finally:
            await balancer.close()


async def executed(database_url: str, operation: str) -> int:
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE operation = $1 AND decision = 'executed'", operation
            )
        )
    finally:
        await conn.close()


async def test_a_confirmation_made_on_one_replica_is_clicked_on_the_other_and_runs_once(
    cluster: tuple[SlackEmulator, RoundRobin, list[BotProcess]], stack_redis: RedisPart, fresh_db_url: str
) -> None:
    emu, balancer, _ = cluster
    client = stack_redis.client()
    client.mset({f"tenant:t7:key:{n}": "v" for n in range(25)} | {"tenant:t8:key:0": "keep"})

    typed = await slash(balancer, emu, "cache flush-tenant t7", OPERATOR)
    preview = await answer(emu, typed, lambda t: "Confirm" in t)
    clicked = await click(balancer, emu, preview.button("confirm"), OPERATOR, message_ts=new_message_ts())
    done = await answer(emu, clicked, lambda t: "done" in t or "failed" in t)

    assert balancer.served[0] != balancer.served[1], "both requests reached the same replica"
    assert "✅ done" in done.text and "25" in done.text, done.text
    assert client.keys("tenant:t7:*") == [] and client.get("tenant:t8:key:0") == b"keep"
    again = await click(balancer, emu, preview.button("confirm"), OPERATOR, message_ts=new_message_ts())
    assert "already ran" in (await answer(emu, again)).text
    assert await executed(fresh_db_url, "cache flush-tenant") == 1
    client.close()


async def test_a_critical_step_is_requested_confirmed_and_approved_across_both_replicas(
    cluster: tuple[SlackEmulator, RoundRobin, list[BotProcess]], stack_redis: RedisPart, fresh_db_url: str
) -> None:
    emu, balancer, _ = cluster
    client = stack_redis.client()
    client.mset({f"k{n}": "v" for n in range(10)})

    typed = await slash(balancer, emu, "cache flush-all", ADMIN)
    preview = await answer(emu, typed, lambda t: "Confirm" in t)
    confirmed = await click(balancer, emu, preview.button("confirm"), ADMIN, message_ts=new_message_ts())
    awaiting = await answer(emu, confirmed, lambda t: "Approve" in t)
    assert client.dbsize() == 10, "a critical step ran before its approval"
    approved = await click(balancer, emu, awaiting.button("approve"), ADMIN2, message_ts=new_message_ts())
    done = await answer(emu, approved, lambda t: "done" in t or "failed" in t)

    assert len(set(balancer.served[:3])) == 2 and balancer.served[0] != balancer.served[1] != balancer.served[2]
    assert "✅ done" in done.text and "Approved by" in done.text, done.text
    assert client.dbsize() == 0
    assert await executed(fresh_db_url, "cache flush-all") == 1
    client.close()


async def test_simultaneous_clicks_on_both_replicas_run_the_step_once(
    cluster: tuple[SlackEmulator, RoundRobin, list[BotProcess]], stack_redis: RedisPart, fresh_db_url: str
) -> None:
    emu, balancer, bots = cluster
    client = stack_redis.client()
    client.mset({f"tenant:t9:key:{n}": "v" for n in range(5)})
    typed = await slash(balancer, emu, "cache flush-tenant t9", OPERATOR)
    preview = await answer(emu, typed, lambda t: "Confirm" in t)

    clicks: list[Sent] = await asyncio.gather(
        *(click(bot, emu, preview.button("confirm"), OPERATOR, message_ts=new_message_ts()) for bot in bots * 3)
    )

    def final(text: str) -> bool:
        return "done" in text or "will not run twice" in text or "already" in text

    texts = [(await answer(emu, c, final)).text for c in clicks]
    assert sum("✅ done" in t for t in texts) == 1, texts
    assert await executed(fresh_db_url, "cache flush-tenant") == 1
    assert client.keys("tenant:t9:*") == []
    client.close()
