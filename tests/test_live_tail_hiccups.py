"""A Slack hiccup neither ends a live tail nor loses its capture: a real busybox container's
logs tailed into the Slack emulator (real HTTP, slack_sdk's client), which answers one post
with a 500, drops connections, or refuses every upload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REDIS_URL, RuntimeFactory, base_config
from slack_emulator import SlackEmulator

from bot.config.settings import Settings
from bot.core.dispatcher import Invocation
from bot.slack.app import SlackBot, build_slack_app, web_client
from bot.slack.thread import ATTEMPTS

pytestmark = pytest.mark.timeout(90)

OPERATOR = "U0OPER"
TAIL = "logs api --follow 6s"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str, emu: SlackEmulator) -> SlackBot:
    runtime = await make_runtime(base_config(project=compose_project), redis_prefix=f"{redis_prefix}hiccup:")
    settings = Settings(
        slack_bot_token="xoxb-test-token-123",
        slack_signing_secret="s",
        slack_api_url=emu.api_url,
        redis_url=REDIS_URL,
        redis_prefix=runtime.settings.redis_prefix,
    )
    return build_slack_app(settings, runtime.dispatcher, web_client(settings))


async def tail_with(bot: SlackBot, emu: SlackEmulator, hiccup: Any) -> str:
    """Run a 6 s tail; `hiccup()` is called once the thread is open; returns the final answer's blocks."""
    answers: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        answers.append(kwargs)

    tail = asyncio.create_task(bot.work(Invocation(TAIL, OPERATOR, "C1", "slack"), respond))
    await emu.wait_for("chat.postMessage", timeout=10)
    await emu.wait_for("chat.postMessage", count=2, timeout=10)  # the first reply is out
    hiccup()
    await asyncio.wait_for(tail, 40)
    [final] = [a for a in answers if "Live tail of api ended" in str(a.get("blocks"))]
    return str(final["blocks"])


async def test_one_500_from_slack_neither_ends_the_tail_nor_drops_the_capture(
    bot: SlackBot, emu: SlackEmulator
) -> None:
    final = await tail_with(bot, emu, lambda: emu.fail("chat.postMessage", status=500))
    assert "its time was up" in final and "refused" not in final, final
    [capture] = emu.files
    assert capture.name.startswith("api-live-") and "GET /orders/" in capture.text
    replies = [c for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert len(replies) >= 3, "the tail went on posting after the 500"


async def test_dropped_connections_are_retried_not_an_internal_error(bot: SlackBot, emu: SlackEmulator) -> None:
    # slack_sdk retries a dropped connection once by itself; two in a row reached the handler.
    final = await tail_with(bot, emu, lambda: emu.drop("chat.postMessage", times=2))
    assert "its time was up" in final and "internal error" not in final.lower(), final
    [capture] = emu.files
    assert "GET /orders/" in capture.text


async def test_replies_slack_keeps_refusing_are_reported_and_their_lines_are_in_the_file(
    bot: SlackBot, emu: SlackEmulator
) -> None:
    final = await tail_with(bot, emu, lambda: emu.fail("chat.postMessage", times=ATTEMPTS, status=500))
    assert "its time was up" in final and "1 message could not be posted in the thread" in final, final
    [capture] = emu.files
    assert "GET /orders/" in capture.text


async def test_a_capture_slack_will_not_take_is_saved_on_the_host_and_reported(
    bot: SlackBot, emu: SlackEmulator
) -> None:
    final = await tail_with(bot, emu, lambda: emu.fail("files.getUploadURLExternal", times=50, status=500))
    assert "The upload of the capture failed" in final and "so it was saved on the bot's host" in final, final
    path = Path(final.split("saved on the bot's host: ", 1)[1].split(" (", 1)[0])
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    assert "GET /orders/" in text and "webhook received payment" in text
    assert not emu.files
    await asyncio.to_thread(path.unlink)
    await asyncio.to_thread(path.parent.rmdir)
