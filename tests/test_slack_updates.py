"""A flow that moves through many states edits one message and never runs out of response_url uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import RuntimeFactory, base_config

from bot.dispatcher import Invocation
from bot.registry import REGISTRY, NoArgs, operation
from bot.results import Result, Text
from bot.settings import Settings
from bot.slack_app import RESPONSE_URL_USES, build_slack_app, web_client


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


async def test_many_updates_edit_one_message_within_the_response_url_budget(
    make_runtime: RuntimeFactory, chatty_op: str
) -> None:
    runtime = await make_runtime(base_config())
    settings = Settings(slack_bot_token="xoxb-test-token-123", slack_signing_secret="s")
    bot = build_slack_app(settings, runtime.dispatcher, web_client(settings))
    posts: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        posts.append(kwargs)

    await bot.work(Invocation(chatty_op, "U0VIEW", "C1", "slack"), respond)
    assert len(posts) == RESPONSE_URL_USES
    assert posts[0]["replace_original"] is False and posts[0]["response_type"] == "in_channel"
    assert all(p["replace_original"] is True for p in posts[1:]), "later states edit the first message"
    assert "finished" in str(posts[-1]["blocks"]), "the final answer always arrives"
