"""Answers survive a failing response_url (bot/slack/answer.py): a real `ops-bot serve`, signed
requests, and the Slack emulator failing the response_url on purpose (500, 429 with Retry-After,
N times), then the Web API fallback, then a log line when every way failed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botproc import BotLauncher, BotProcess, posted, shown
from conftest import base_config
from e2e import CHANNEL, new_user, slash
from slack_emulator import Call, SlackEmulator

from bot.slack.answer import RESPONSE_URL_ATTEMPTS

pytestmark = pytest.mark.timeout(90)

CONTACTS = "Marta Gil"  # a line of `/ops contacts`


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    tmp_path: Path, emu: SlackEmulator, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str
) -> AsyncIterator[BotProcess]:
    path = write_config(base_config())
    async with BotLauncher(tmp_path) as bots:
        yield await bots.serve(path, emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix})


async def web_api_answer(emu: SlackEmulator, method: str, timeout: float = 20) -> Call:
    [call] = await emu.wait_for(method, timeout=timeout, predicate=lambda c: CONTACTS in shown(c))
    return call


async def test_a_500_then_a_429_on_the_response_url_still_answers_after_its_retry_after(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    emu.fail("response_url", status=500)
    emu.fail("response_url", status=429, retry_after=2)
    sent = await slash(bot, emu, "contacts", new_user())
    assert sent.status == 200
    first, second, third = await posted(emu, sent.response_url, count=3, timeout=20)
    assert CONTACTS in shown(third), "the third try carried the answer"
    assert third.at - second.at >= 2.0, "the retry waited out the 429's Retry-After"
    assert second.at > first.at
    assert not emu.calls("chat.postEphemeral"), "no fallback needed"


async def test_a_response_url_that_keeps_failing_falls_back_to_an_ephemeral_message_for_the_user(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    user = new_user()
    emu.fail("response_url", times=RESPONSE_URL_ATTEMPTS, status=500)
    sent = await slash(bot, emu, "contacts", user)
    call = await web_api_answer(emu, "chat.postEphemeral")
    assert call.args["user"] == user and call.args["channel"] == CHANNEL
    assert len(await posted(emu, sent.response_url, count=RESPONSE_URL_ATTEMPTS)) == RESPONSE_URL_ATTEMPTS


async def test_in_a_direct_message_the_fallback_posts_into_it(bot: BotProcess, emu: SlackEmulator) -> None:
    emu.fail("response_url", times=RESPONSE_URL_ATTEMPTS, status=500)
    await slash(bot, emu, "contacts", new_user(), channel="D0DIRECT")
    call = await web_api_answer(emu, "chat.postMessage")
    assert call.args["channel"] == "D0DIRECT"


async def test_an_answer_no_way_could_deliver_is_held_and_sent_once_slack_answers(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    """Every way failed at the time (response_url 500 four times, the ephemeral fallback 500): the
    answer is held in the bot's Postgres, not logged LOST, and goes through the same response_url
    when Slack takes it again (issue 22; the long outage itself: tests/test_slack_outage_answers.py)."""
    user = new_user()
    emu.fail("response_url", times=RESPONSE_URL_ATTEMPTS, status=500)
    emu.fail("chat.postEphemeral", status=500)
    sent = await slash(bot, emu, "contacts", user)
    await emu.wait_for("chat.postEphemeral", timeout=20)
    calls = await posted(emu, sent.response_url, count=RESPONSE_URL_ATTEMPTS + 1, timeout=20)
    assert CONTACTS in shown(calls[-1]), "the held answer went through its response_url"
    deadline = time.monotonic() + 10
    while f"answer for user {user} in {CHANNEL}" not in bot.output():
        assert time.monotonic() < deadline, bot.output()[-3000:]
        await asyncio.sleep(0.1)
    line = next(x for x in bot.output().splitlines() if f"answer for user {user}" in x)
    assert "held until Slack answers" in line and "HTTP 500 after" in line
    assert "chat.postEphemeral: internal_error" in line
    await asyncio.sleep(1.5)
    wanted = sent.response_url.rsplit("/", 1)[1]
    assert len([c for c in emu.calls("response_url") if c.args.get("_response_id") == wanted]) == 5, "sent twice"
    assert "answer LOST" not in bot.output() and "Traceback" not in bot.output()
