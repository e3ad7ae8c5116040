"""The work after the ack runs in lanes (bot/core/lanes.py): a real `ops-bot serve` with more live
tails of real containers than it has short slots still answers `/ops help` and the Stop click
at once, caps live tails per user with a clear message, and says on /healthz how busy it is."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from botproc import BotLauncher, BotProcess, shown
from conftest import base_config
from e2e import answer, button_values, click, messages_for, slash
from slack_emulator import Call, SlackEmulator

from bot.core.lanes import LONG_PER_USER, SHORT_SLOTS, LaneFullError, Lanes, declare_long

pytestmark = pytest.mark.timeout(180)

GREEDY = "U0GREEDY"
OTHERS = [f"U0OPS{n}" for n in range(8)]
VIEWER = "U0LOOKER"
TAIL = "logs redis --follow 90s"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    tmp_path: Path,
    emu: SlackEmulator,
    write_config: Callable[[str], Path],
    bot_db_url: str,
    redis_prefix: str,
    compose_project: str,
) -> AsyncIterator[BotProcess]:
    roles = {"viewer": ["*"], "operator": [GREEDY, *OTHERS], "admin": ["U0ADMIN"]}
    path = write_config(base_config(project=compose_project, roles=roles))
    async with BotLauncher(tmp_path) as bots:
        yield await bots.serve(path, emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix})


def parents(emu: SlackEmulator) -> list[Call]:
    """The first message of each live tail's thread."""
    return [
        c
        for c in emu.calls("chat.postMessage")
        if not c.args.get("thread_ts") and "Live tail of redis" in str(c.args.get("text"))
    ]


async def wait_for_parents(emu: SlackEmulator, count: int, timeout: float) -> list[Call]:
    deadline = time.monotonic() + timeout
    while len(found := parents(emu)) < count:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} live tails started within {timeout}s"
        await asyncio.sleep(0.1)
    return found


async def test_more_live_tails_than_short_slots_leave_help_and_the_stop_click_answered(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    tails = [slash(bot, emu, TAIL, user) for user in OTHERS for _ in range(LONG_PER_USER)]
    greedy = [slash(bot, emu, TAIL, GREEDY) for _ in range(LONG_PER_USER + 1)]
    sent = await asyncio.gather(*tails, *greedy)
    assert all(s.status == 200 for s in sent)
    running = len(OTHERS) * LONG_PER_USER + LONG_PER_USER
    assert running > SHORT_SLOTS, "the test must start more tails than there are short slots"

    # The one tail beyond the greedy user's cap is refused with the catalog's message.
    started = await wait_for_parents(emu, running, timeout=60)
    greedy_answers = [shown(c) for s in sent[-len(greedy) :] for c in messages_for(emu, s)]
    refused = [text for text in greedy_answers if "You already have 4 long-running operations going" in text]
    assert len(refused) == 1 and len(greedy_answers) == 1, greedy_answers
    assert len(started) == running, "a refused tail opened no thread"

    health_status, health_body = await bot.get("/healthz")
    health = json.loads(health_body)
    assert health_status == 200 and health["status"] == "ok", health
    assert health["work"]["long"]["used"] == running and health["work"]["short"]["used"] < SHORT_SLOTS, health

    # While they all run, a short command and the Stop click are answered.
    help_sent = await slash(bot, emu, "help", VIEWER)
    help_answer = await answer(emu, help_sent, lambda text: "/ops status" in text, timeout=30)
    stop_command = next(v for v in button_values(started[0]) if v.startswith("/ops logs stop "))
    stop_sent = await click(bot, emu, stop_command, OTHERS[0], message_ts=str(started[0].args.get("ts", "")))
    stopping = await answer(emu, stop_sent, lambda text: "Stopping the live tail" in text, timeout=30)

    # Order, from the emulator's recorded times: both answers came while every other tail still ran.
    ended = [c for c in emu.calls() if "Live tail of redis ended" in shown(c) and "its time was up" in shown(c)]
    first_end = min((c.at for c in ended), default=float("inf"))
    assert help_answer.call.at < first_end and stopping.call.at < first_end
    assert all(p.at < help_answer.call.at for p in started), "help came while the tails ran"
    print(
        f"figure: {running} live tails running, {SHORT_SLOTS} short slots; help answered "
        f"{help_answer.after:.2f}s after its request, Stop click {stopping.after:.2f}s; /healthz work={health['work']}"
    )


async def test_lanes_count_use_and_tell_busy() -> None:
    """The lanes' own accounting, on a loop of its own: a declared long job frees its short slot,
    a job that outlives `promote_after` moves too, and a full short lane with work waiting is busy."""
    lanes = Lanes(short_slots=2, long_slots=3, long_per_user=1, promote_after=0.2)
    release = asyncio.Event()
    declared = asyncio.Event()

    async def long_job(user: str) -> str:
        declare_long(user)
        declared.set()
        await release.wait()
        return "long"

    async def short_job() -> str:
        await release.wait()
        return "short"

    first = asyncio.create_task(lanes.run(long_job("U1")))
    await declared.wait()
    assert lanes.snapshot()["short"]["used"] == 0 and lanes.long_used == 1
    with pytest.raises(LaneFullError) as refused:
        await lanes.run(long_job("U1"))
    assert refused.value.key == "lanes.user_full"
    shorts = [asyncio.create_task(lanes.run(short_job())) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert lanes.short_used == 2 and lanes.queued == 1 and lanes.busy()
    await asyncio.sleep(0.4)  # the two running short jobs outlived promote_after: the third starts
    assert lanes.queued == 0 and lanes.long_used >= 3 and lanes.busy(), "promoted jobs fill the long lane"
    release.set()
    results: list[Any] = await asyncio.gather(first, *shorts)
    assert results == ["long", "short", "short", "short"]
    assert lanes.snapshot() == {
        "queued": 0,
        "short": {"used": 0, "slots": 2},
        "long": {"used": 0, "slots": 3, "per_user": 1},
    }
    assert not lanes.busy()
