"""The hand-off summary names the steps waiting for a yes (to confirm, or awaiting a second admin)
at the hand-off, read where `/ops pending` reads them, at most five and the rest counted; when
Redis does not answer, the line says they are not known instead of "none"."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from confirm_flow import buttons, click
from conftest import RuntimeFactory, base_config
from oncall_parts import ROTA, SECOND_DEVOPS, local, start_pinned
from private_redis import PrivateRedis, start_private_redis
from slack_emulator import SlackEmulator

from bot.core.deps import redis_client
from bot.core.dispatcher import Invocation
from bot.jobs.handoff import HandoffWatcher

EXTRA = "    channel: C0ONCALL\n"


@pytest.fixture
def stack_redis() -> Iterator[PrivateRedis]:
    server = start_private_redis()
    yield server
    server.stop()


def _config(redis_url: str) -> str:
    rota = ROTA.replace("    timezone: America/Santiago\n", "    timezone: America/Santiago\n" + EXTRA, 1)
    return base_config(target_redis=redis_url, extra=rota).replace("contacts:\n", "contacts:\n" + SECOND_DEVOPS, 1)


def summary_line(emu: SlackEmulator) -> str:
    [summary] = [
        text
        for c in emu.calls("chat.postMessage")
        if c.args.get("channel") == "C0ONCALL"
        for block in c.args.get("blocks") or []
        if "hand-off" in (text := str((block.get("text") or {}).get("text", "")))
    ]
    return next(x for x in summary.splitlines() if "Steps waiting for a yes" in x)


async def test_the_summary_names_the_steps_waiting_at_the_handoff_bounded(
    fresh_db_url: str, make_runtime: RuntimeFactory, stack_redis: PrivateRedis
) -> None:
    async with SlackEmulator() as emu:
        runtime, store_clock, worker_clock = await start_pinned(
            make_runtime,
            emu,
            fresh_db_url,
            _config(stack_redis.url),
            local(2026, 12, 7, 8, 50),  # before Monday's hand-off: the steps are asked first
            redis_prefix=f"handoff-pending-{secrets.token_hex(4)}:",  # this test's records only
        )
        for n in range(1, 7):  # six steps to confirm, oldest first
            asked = await runtime.dispatcher.dispatch(
                Invocation(f"cache flush-tenant abc10{n}", "U0OPER", "C1", "slack")
            )
            assert [b.command.split()[1] for b in buttons(asked)] == ["confirm", "cancel"], asked
        newest = await runtime.dispatcher.dispatch(Invocation("cache flush-all", "U0ADMIN", "C1", "slack"))
        confirmed = await click(runtime, newest, "confirm", "U0ADMIN")
        assert "approve" in " ".join(b.command for b in buttons(confirmed))
        store_clock.now = worker_clock.now = local(2026, 12, 7, 9, 0, 5)
        await HandoffWatcher(runtime.deps).tick()
        await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: "hand-off" in str(c.args.get("blocks")))
        line = summary_line(emu)
    items = line.split(": ", 1)[1].split("; ")
    assert items == [
        "`/ops cache flush-all` (awaiting a second admin, asked by U0ADMIN)",
        *(f"`/ops cache flush-tenant abc10{n}` (to confirm, asked by U0OPER)" for n in (6, 5, 4, 3)),
        "and 2 more",
    ], line
    assert "<@" not in line, "the requesters are named, not pinged in the rota channel"


async def test_the_summary_says_the_steps_waiting_are_not_known_when_redis_does_not_answer(
    fresh_db_url: str, make_runtime: RuntimeFactory, stack_redis: PrivateRedis
) -> None:
    async with SlackEmulator() as emu:
        runtime, store_clock, worker_clock = await start_pinned(
            make_runtime, emu, fresh_db_url, _config(stack_redis.url), local(2026, 12, 7, 8, 50)
        )
        working, runtime.deps.redis = runtime.deps.redis, redis_client("redis://127.0.0.1:9/0")  # refused there
        await working.aclose()
        store_clock.now = worker_clock.now = local(2026, 12, 7, 9, 0, 5)
        await HandoffWatcher(runtime.deps).tick()
        await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: "hand-off" in str(c.args.get("blocks")))
        line = summary_line(emu)
    assert "not known (Redis does not answer)" in line and "/ops pending" in line, line
