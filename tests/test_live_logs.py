"""`/ops logs <service> --follow`: a live tail of a real busybox container into a Slack thread
(the Slack emulator records every Web API call), batched, stoppable, with the whole capture
attached at the end; and the same in the terminal."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import REDIS_URL, RuntimeFactory, base_config
from slack_emulator import Call, SlackEmulator

from bot.app.runtime import Runtime
from bot.config.settings import Settings
from bot.core.dispatcher import Invocation
from bot.core.registry import REGISTRY
from bot.output.results import Result
from bot.slack.app import SlackBot, build_slack_app, web_client
from bot.terminal.shell import Shell
from handlers.live_logs import FollowArgs

OPERATOR = "U0OPER"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def runtime_for(make_runtime: RuntimeFactory, project: str, redis_prefix: str, name: str) -> Runtime:
    return await make_runtime(base_config(project=project), redis_prefix=f"{redis_prefix}{name}:")


def slack_bot(runtime: Runtime, emu: SlackEmulator) -> SlackBot:
    settings = Settings(
        slack_bot_token="xoxb-test-token-123",
        slack_signing_secret="s",
        slack_api_url=emu.api_url,
        redis_url=REDIS_URL,
        redis_prefix=runtime.settings.redis_prefix,
    )
    return build_slack_app(settings, runtime.dispatcher, web_client(settings))


def stop_command(parent: Call) -> str:
    for block in parent.args["blocks"]:
        for element in block.get("elements", []):
            if str(element.get("value", "")).startswith("/ops logs stop "):
                return str(element["value"])
    raise AssertionError(f"no Stop button in {parent.args['blocks']}")


async def test_follow_posts_batched_replies_in_a_thread_and_stops_on_the_stop_button_of_another_replica(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str, emu: SlackEmulator
) -> None:
    runtime = await runtime_for(make_runtime, compose_project, redis_prefix, "follow")
    bot = slack_bot(runtime, emu)
    other = slack_bot(await runtime_for(make_runtime, compose_project, redis_prefix, "follow"), emu)
    answers: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        answers.append(kwargs)

    started = time.monotonic()
    tail = asyncio.create_task(bot.work(Invocation("logs api --follow 30s", OPERATOR, "C1", "slack"), respond))
    [parent] = await emu.wait_for("chat.postMessage", timeout=5)
    assert "Live tail of api" in str(parent.args["text"]) and not parent.args.get("thread_ts")
    await asyncio.sleep(3.3)  # the api container writes ~12 lines a second

    clicks: list[dict[str, Any]] = []

    async def respond_click(**kwargs: Any) -> None:
        clicks.append(kwargs)

    # The click reaches the other replica: the stop flag is in the Redis both share.
    await other.work(Invocation(stop_command(parent), OPERATOR, "C1", "button"), respond_click)
    await asyncio.wait_for(tail, 5)
    took = time.monotonic() - started

    assert took < 8, "the Stop button ended a 30 s tail early"
    assert "Stopping the live tail" in str(clicks)
    parent_ts = sorted(emu.messages)[0]  # the first message posted: the thread's parent
    replies = [c for c in emu.calls("chat.postMessage") if c.args.get("thread_ts") == parent_ts]
    assert len(replies) >= 3, replies
    gaps = [b.at - a.at for a, b in itertools.pairwise(replies)]
    assert min(gaps) >= 0.9, f"more than one message a second: {gaps}"
    [capture] = emu.files
    assert capture.thread_ts == parent_ts and capture.name.startswith("api-live-")
    assert "GET /orders/" in capture.text and "webhook received payment" in capture.text
    assert "warn slow query" in capture.text, "stderr is captured too"
    shown = "".join(str(c.args["blocks"]) for c in replies)
    for line in capture.text.splitlines()[-5:]:
        assert line in shown, "every line of the file was posted in the thread"
    final = str(answers[-1]["blocks"])
    assert "Live tail of api ended" in final and f"stopped by {OPERATOR}" in final
    late = await runtime.dispatcher.dispatch(Invocation(stop_command(parent), OPERATOR, "C1", "button"))
    assert late.summary == "This live tail has already ended."


async def test_follow_ends_by_itself_when_its_time_is_up(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    runtime = await runtime_for(make_runtime, compose_project, redis_prefix, "shell")
    out = io.StringIO()
    started = time.monotonic()
    result = await Shell(runtime, OPERATOR, out=out).run_one("/ops logs api --follow 2s")
    assert 2 <= time.monotonic() - started < 5
    assert result.ok, result.summary
    assert "its time was up" in result.summary
    printed = out.getvalue()
    assert "Stop: /ops logs stop " in printed, "the terminal prints the Stop button's command"
    assert "GET /orders/" in printed and "Full output saved to" in printed


async def test_follow_needs_a_thread_and_the_operator_role(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    runtime = await runtime_for(make_runtime, compose_project, redis_prefix, "refusals")
    no_thread = await runtime.dispatcher.dispatch(Invocation("logs api --follow", OPERATOR, "C1", "slack"))
    assert not no_thread.ok and "needs a thread" in no_thread.summary and "--tail 100" in no_thread.summary
    viewer = await runtime.dispatcher.dispatch(Invocation("logs api --follow 1m", "U0VIEW", "C1", "slack"))
    assert "needs the *operator* role" in viewer.summary
    reading = await runtime.dispatcher.dispatch(Invocation("logs api --tail 3", "U0VIEW", "C1", "slack"))
    assert reading.ok, "reading the last lines stays a viewer's command"
    too_long = await runtime.dispatcher.dispatch(Invocation("logs api --follow 1h", OPERATOR, "C1", "slack"))
    assert "is too long (at most 15m)" in too_long.summary


def parse(text: str) -> tuple[str, Any]:
    from bot.core.parsing import bind_words, find_operation, split_words
    from bot.text.messages import Catalog

    t = Catalog()
    parsed = find_operation(split_words(text, t), REGISTRY, "/ops", t)
    return parsed.operation.name, bind_words(parsed.operation, parsed.words, t, "/ops")


def test_follow_takes_an_optional_duration_anywhere() -> None:
    assert parse("logs api --follow") == ("logs --follow", {"service": "api", "follow": "2m"})
    assert parse("logs api --follow 5m") == ("logs --follow", {"service": "api", "follow": "5m"})
    assert parse("logs --follow api") == ("logs --follow", {"service": "api", "follow": "2m"})
    assert parse("logs --follow 90s api") == ("logs --follow", {"service": "api", "follow": "90s"})
    assert parse("logs api --follow=30s") == ("logs --follow", {"service": "api", "follow": "30s"})
    assert parse("logs api --tail 5") == ("logs", {"service": "api", "tail": "5"})
    follow = REGISTRY.get("logs --follow")
    assert follow is not None and follow.usage() == "/ops logs <service> --follow [2m]"
    assert FollowArgs.model_fields["follow"].default.total_seconds() == 120


def test_a_result_reaching_a_thread_is_redacted() -> None:
    from bot.core.threads import RedactingThread
    from bot.output.results import Code

    seen: list[Result] = []

    class Recorder:
        async def start(self, result: Result) -> str:
            seen.append(result)
            return "1"

        async def reply(self, handle: str, result: Result) -> None:
            seen.append(result)

        async def attach(self, handle: str, attachment: Any) -> None:
            seen.append(Result("", [attachment]))

    thread = RedactingThread(Recorder(), lambda text: text.replace("hunter2", "••••"))
    asyncio.run(thread.reply("1", Result("", [Code("password=hunter2")])))
    assert "hunter2" not in str(seen) and "••••" in str(seen)
