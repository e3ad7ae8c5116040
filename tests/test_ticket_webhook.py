"""The ticket webhook against a real HTTP receiver that fails on purpose: it is tried again on
a long capped backoff until it lands (`tickets.webhook_state = 'sent'`), and when it is given
up the ticket says `failed` and the step keeps the last error (issue 17.11). The schedule is
shortened for the tests through the worker's `webhook_retry`; its shape is checked as shipped."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from conftest import RuntimeFactory, base_config
from slack_emulator import SlackEmulator

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.incidents.escalation import WEBHOOK_RETRY, WebhookRetry
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

pytestmark = pytest.mark.timeout(60)

SHORT = WebhookRetry(first=0.05, cap=0.2, window=timedelta(seconds=30))


@dataclass
class Receiver:
    """A ticket system on 127.0.0.1 that answers 503 to its first `failures` requests."""

    failures: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if len(self.bodies) <= self.failures:
            return web.Response(status=503, text="ticket system in maintenance")
        return web.json_response({"id": "JIRA-1"}, status=201)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(failures=0)
    app = web.Application()
    app.router.add_post("/tickets", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}/tickets"
    yield state
    await runner.cleanup()


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def start(
    make_runtime: RuntimeFactory, emu: SlackEmulator, db_url: str, url: str, retry: WebhookRetry
) -> Runtime:
    policy = f"escalation:\n  ticket_webhook: {url}\n  sev2:\n    - {{ticket: true}}\n"
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(base_config(extra=policy), database_url=db_url, notifier=notifier)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.poll = 0.1
    runtime.deps.escalation.webhook_retry = retry
    return runtime


async def webhook_state(runtime: Runtime, wanted: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.deps.db.connection() as conn:
            state = str(await conn.fetchval("SELECT webhook_state FROM tickets WHERE incident_id = 1"))
        if state == wanted or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


async def webhook_step(runtime: Runtime) -> Any:
    async with runtime.deps.db.connection() as conn:
        return await conn.fetchrow("SELECT state, attempts, last_error FROM escalation_steps WHERE kind = 'webhook'")


async def declare(runtime: Runtime) -> None:
    result = await runtime.dispatcher.dispatch(
        Invocation("incident declare sev2 Reportes lentos", "U0B", "C0", "slack")
    )
    assert result.ok, result.summary


async def test_a_webhook_failing_ten_times_is_still_delivered_and_marked_sent(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory, receiver: Receiver
) -> None:
    receiver.failures = 10  # more than the 8 tries (about 2 minutes) the worker used to give it
    runtime = await start(make_runtime, emu, fresh_db_url, receiver.url, SHORT)

    await declare(runtime)

    assert await webhook_state(runtime, "sent", 20) == "sent"
    assert len(receiver.bodies) == 11
    assert all(body == receiver.bodies[0] for body in receiver.bodies), "every try sends the same ticket"
    assert receiver.bodies[0]["ticket"] == "TCK-1" and receiver.bodies[0]["incident"] == "INC-1"
    step = await webhook_step(runtime)
    assert (step["state"], step["attempts"]) == ("done", 11)
    assert step["last_error"] == "ticket webhook answered HTTP 503"


async def test_a_webhook_given_up_leaves_the_ticket_failed_with_the_last_error(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory, receiver: Receiver
) -> None:
    receiver.failures = 10_000
    window = WebhookRetry(first=0.05, cap=0.2, window=timedelta(seconds=1))
    runtime = await start(make_runtime, emu, fresh_db_url, receiver.url, window)

    await declare(runtime)

    assert await webhook_state(runtime, "failed", 20) == "failed"
    tries = len(receiver.bodies)
    step = await webhook_step(runtime)
    assert step["state"] == "failed" and step["attempts"] == tries >= 3
    assert step["last_error"] == "ticket webhook answered HTTP 503"
    notice = await emu.wait_for(
        "chat.postMessage", timeout=5, predicate=lambda c: "ticket webhook kept failing" in str(c.args.get("text"))
    )
    assert "HTTP 503" in str(notice[0].args["text"]) and notice[0].args.get("thread_ts")
    await asyncio.sleep(0.5)
    assert len(receiver.bodies) == tries, "a given-up webhook is not tried again"


def test_the_shipped_schedule_backs_off_to_fifteen_minutes_and_keeps_trying_for_a_day() -> None:
    delays = [WEBHOOK_RETRY.delay(n) for n in range(200)]
    assert delays[0] == 2.0 and all(b >= a for a, b in itertools.pairwise(delays))
    assert max(delays) == 15 * 60
    assert WEBHOOK_RETRY.window == timedelta(hours=24)
    elapsed, tries = 0.0, 1
    while elapsed + WEBHOOK_RETRY.delay(tries - 1) <= WEBHOOK_RETRY.window.total_seconds():
        elapsed += WEBHOOK_RETRY.delay(tries - 1)
        tries += 1
    assert elapsed > 23.5 * 3600 and 90 < tries < 120, (elapsed, tries)
