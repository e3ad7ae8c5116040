"""A flow that moves through many states edits one message: through the Web API when the bot
may post in the channel, else through the response_url without running out of its 5 uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import RuntimeFactory, base_config
from slack_emulator import SlackEmulator

from bot.app.runtime import Runtime
from bot.config.settings import Settings
from bot.core.dispatcher import Invocation
from bot.core.registry import REGISTRY, NoArgs, operation
from bot.output.results import Result, Text
from bot.slack.app import RESPONSE_URL_USES, SlackBot, build_slack_app, web_client


@pytest.fixture
def chatty_op() -> Iterator[str]:
    @operation("test chatty", NoArgs)
    async def chatty(ctx: Any, args: NoArgs) -> Result:
        """Test only: ten state changes, then a result."""
        for n in range(10):
            await ctx.update(Result(title="working", blocks=[Text(f"state {n}")]))
        return Result(title="finished", blocks=[Text("all done")])

    yield "test chatty"
    del REGISTRY.operations["test chatty"]


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def slack_bot(runtime: Runtime, emu: SlackEmulator) -> SlackBot:
    settings = Settings(slack_bot_token="xoxb-test-token-123", slack_signing_secret="s", slack_api_url=emu.api_url)
    return build_slack_app(settings, runtime.dispatcher, web_client(settings))


async def test_updates_edit_one_posted_message_through_the_web_api(
    emu: SlackEmulator, make_runtime: RuntimeFactory, chatty_op: str
) -> None:
    runtime = await make_runtime(base_config())
    posts: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        posts.append(kwargs)

    await slack_bot(runtime, emu).work(Invocation(chatty_op, "U0VIEW", "C1", "slack"), respond)
    [first] = emu.calls("chat.postMessage")
    assert first.args["channel"] == "C1" and "working" in str(first.args["blocks"])
    edits = emu.calls("chat.update")
    assert len(edits) == 10 and {c.args["channel"] for c in edits} == {"C1"}
    assert "finished" in str(edits[-1].args["blocks"]) and posts == []


async def test_without_channel_access_the_response_url_budget_keeps_a_use_for_the_answer(
    emu: SlackEmulator, make_runtime: RuntimeFactory, chatty_op: str
) -> None:
    emu.fail("chat.postMessage", times=1, error="not_in_channel")
    runtime = await make_runtime(base_config())
    posts: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        posts.append(kwargs)

    await slack_bot(runtime, emu).work(Invocation(chatty_op, "U0VIEW", "C1", "slack"), respond)
    assert len(posts) == RESPONSE_URL_USES
    assert posts[0]["replace_original"] is False and posts[0]["response_type"] == "in_channel"
    assert all(p["replace_original"] is True for p in posts[1:]), "later states edit the first message"
    assert "finished" in str(posts[-1]["blocks"]), "the final answer always arrives"


async def test_a_click_edits_the_clicked_message(
    emu: SlackEmulator, make_runtime: RuntimeFactory, chatty_op: str
) -> None:
    runtime = await make_runtime(base_config())
    posts: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        posts.append(kwargs)

    bot = slack_bot(runtime, emu)
    await bot.work(Invocation(chatty_op, "U0VIEW", "C1", "button"), respond, message_ts="1700000000.000900")
    edits = emu.calls("chat.update")
    assert {c.args["ts"] for c in edits} == {"1700000000.000900"}
    assert emu.calls("chat.postMessage") == [] and posts == []
