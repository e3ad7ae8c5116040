"""`/ops pending`: a critical step's approval can be found without reading the audit, by the right people."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confirm_flow import buttons, click
from conftest import RuntimeFactory, base_config
from private_redis import PrivateRedis, start_private_redis

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Result
from bot.output.terminal import render_text


@pytest.fixture
def stack_redis() -> Iterator[PrivateRedis]:
    server = start_private_redis()
    yield server
    server.stop()


async def run(runtime: Runtime, text: str, user: str) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


def commands(result: Result, action: str = "") -> list[str]:
    """The buttons' commands (of one action, when given: other tests of the run share the Redis prefix)."""
    return [b.command for b in buttons(result) if b.command.endswith(action)]


async def test_a_critical_step_waits_visibly_for_its_requester_then_for_a_second_admin(
    make_runtime: RuntimeFactory, stack_redis: PrivateRedis
) -> None:
    runtime = await make_runtime(base_config(target_redis=stack_redis.url))
    stack_redis.client().set("k", "v")
    preview = await run(runtime, "cache flush-all", "U0ADMIN")
    assert [c.split()[1] for c in commands(preview)] == ["confirm", "cancel"], preview
    action = commands(preview)[0].split()[-1]

    mine = await run(runtime, "pending", "U0ADMIN")
    assert "cache flush-all" in render_text(mine).text and "not confirmed yet" in render_text(mine).text
    assert commands(mine, action) == commands(preview), "the same Confirm / Cancel as the preview"
    other = await run(runtime, "pending", "U0ADMIN2")
    assert commands(other, action) == [], "another admin is not asked to confirm a step they did not ask for"

    confirmed = await click(runtime, preview, "confirm", "U0ADMIN")
    approve = [c for c in commands(confirmed) if c.split()[1] == "approve"]
    waiting = await run(runtime, "pending", "U0ADMIN")
    assert "awaiting a second admin" in render_text(waiting).text and commands(waiting, action) == []
    viewer = await run(runtime, "pending", "U0VIEW")
    assert commands(viewer, action) == [], "a viewer is not offered an approval"
    second = await run(runtime, "pending", "U0ADMIN2")
    assert "awaiting your approval" in render_text(second).text and "U0ADMIN" in render_text(second).text
    assert [c for c in commands(second, action) if c.split()[1] == "approve"] == approve

    done = await runtime.dispatcher.dispatch(Invocation(approve[0], "U0ADMIN2", "C1", "button"))
    assert done.ok, done
    assert stack_redis.client().dbsize() == 0
    after = await run(runtime, "pending", "U0ADMIN2")
    assert commands(after, action) == []
