"""Every Slack request runs at most once (bot/slack/dedupe.py): a replayed signed request is refused
with 401, Slack's own redelivery is answered 200 and not run again, over HTTP and Socket Mode,
and with the bot's Redis down the check fails open to the process's own memory.

Unsigned, forged and stale requests: tests/test_slack_http.py
(`test_requests_slack_did_not_sign_just_now_are_refused_and_run_nothing`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from botproc import REDIS_URL, BotLauncher, BotProcess, posted
from conftest import base_config
from e2e import CHANNEL, audit_rows, click, new_user, slash
from private_redis import free_port
from slack_emulator import RESPONSE_URL, SOCKET_ACK, SlackEmulator
from slack_signing import block_actions_payload, slash_command_payload
from targets import start_silent_server

from bot.slack.dedupe import TIMEOUT, Deduper, content_of

pytestmark = pytest.mark.timeout(90)

QUIET = 1.0
"""How long to wait for a second run that must not happen."""


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def launcher(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


StartBot = Callable[..., Any]


@pytest.fixture
def start_bot(
    launcher: BotLauncher, emu: SlackEmulator, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str
) -> StartBot:
    async def start(**env: str) -> BotProcess:
        path = write_config(base_config())
        return await launcher.serve(path, emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix, **env})

    return start


def posts_to(emu: SlackEmulator, response_url: str) -> int:
    wanted = response_url.rsplit("/", 1)[1]
    return len([c for c in emu.calls(RESPONSE_URL) if c.args.get("_response_id") == wanted])


# ---------------------------------------------------------------------- HTTP


async def test_a_replayed_command_is_refused_with_401_and_runs_once(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    bot = await start_bot()
    user = new_user()

    first = await slash(bot, emu, "contacts", user)
    replays = [await first.resend() for _ in range(3)]

    assert first.status == 200
    assert [r.status for r in replays] == [401, 401, 401]
    await posted(emu, first.response_url)
    await asyncio.sleep(QUIET)
    assert posts_to(emu, first.response_url) == 1
    assert [r["operation"] for r in await audit_rows(bot_db_url, user)] == ["contacts"]
    assert "refused a replayed request" in bot.stderr()


async def test_a_replayed_click_is_refused_with_401(start_bot: StartBot, emu: SlackEmulator, bot_db_url: str) -> None:
    bot = await start_bot()
    user = new_user()

    first = await click(bot, emu, "/ops contacts", user)
    replay = await first.resend()

    assert (first.status, replay.status) == (200, 401)
    await posted(emu, first.response_url)
    await asyncio.sleep(QUIET)
    assert [(r["operation"], r["source"]) for r in await audit_rows(bot_db_url, user)] == [("contacts", "button")]


async def test_slacks_redelivery_of_a_command_is_acked_and_runs_once(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    bot = await start_bot()
    user = new_user()

    first = await slash(bot, emu, "contacts", user)
    retries = [await first.redeliver(attempt) for attempt in (1, 2, 3)]

    assert [s.status for s in (first, *retries)] == [200, 200, 200, 200]
    assert all(r.seconds < 1.0 for r in retries), [r.seconds for r in retries]
    assert "Running `/ops contacts`" in first.ack_text
    assert [r.answer for r in retries] == ["", "", ""], "a redelivery must not show a second ack"
    await posted(emu, first.response_url)
    await asyncio.sleep(QUIET)
    assert posts_to(emu, first.response_url) == 1
    assert len(await audit_rows(bot_db_url, user)) == 1
    _, metrics = await bot.get("/metrics")
    assert 'opsbot_slack_requests_total{verdict="duplicate"} 3.0' in metrics, metrics
    assert 'opsbot_slack_requests_total{verdict="new"}' in metrics


async def test_slacks_redelivery_of_a_click_runs_once(start_bot: StartBot, emu: SlackEmulator, bot_db_url: str) -> None:
    bot = await start_bot()
    user = new_user()

    first = await click(bot, emu, "/ops contacts", user)
    retry = await first.redeliver()

    assert (first.status, retry.status) == (200, 200)
    await posted(emu, first.response_url)
    await asyncio.sleep(QUIET)
    assert len(await audit_rows(bot_db_url, user)) == 1


async def test_the_same_command_typed_twice_runs_twice(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    """Two commands with the same text are two commands (Slack gives each its own trigger_id)."""
    bot = await start_bot()
    user = new_user()

    first = await slash(bot, emu, "contacts", user)
    second = await slash(bot, emu, "contacts", user)

    await posted(emu, first.response_url)
    await posted(emu, second.response_url)
    assert len(await audit_rows(bot_db_url, user)) == 2


async def test_a_redelivery_reaching_another_replica_runs_once(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    one, two = await start_bot(), await start_bot()
    user = new_user()

    first = await slash(one, emu, "contacts", user)
    retry = await first.redeliver(to=two)
    replay = await first.resend(to=two)

    assert (first.status, retry.status, replay.status) == (200, 200, 401)
    await posted(emu, first.response_url)
    await asyncio.sleep(QUIET)
    assert len(await audit_rows(bot_db_url, user)) == 1


async def test_with_its_redis_down_the_bot_still_answers_and_its_own_memory_drops_duplicates(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    """Fail open: a command is not refused because the duplicate check cannot reach Redis."""
    bot = await start_bot(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    user = new_user()

    first = await slash(bot, emu, "contacts", user)
    retry = await first.redeliver()
    replay = await first.resend()
    other = await slash(bot, emu, "contacts", user)

    assert (first.status, retry.status, replay.status, other.status) == (200, 200, 401, 200)
    assert max(s.seconds for s in (first, retry, replay, other)) < 1.0
    await posted(emu, first.response_url)
    await posted(emu, other.response_url)
    await asyncio.sleep(QUIET)
    assert posts_to(emu, first.response_url) == 1
    assert len(await audit_rows(bot_db_url, user)) == 2
    assert "duplicate check without the bot's Redis" in bot.stderr()


# ---------------------------------------------------------------------- Socket Mode


@pytest.fixture
async def socket_bot(
    launcher: BotLauncher, emu: SlackEmulator, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str
) -> BotProcess:
    bot = await launcher.socket(
        write_config(base_config()), emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix}
    )
    await emu.socket_connected(timeout=5)
    return bot


def acks_of(emu: SlackEmulator, envelope_id: str) -> int:
    return len([c for c in emu.calls(SOCKET_ACK) if c.args.get("envelope_id") == envelope_id])


async def test_the_same_socket_mode_envelope_twice_is_acked_twice_and_runs_once(
    socket_bot: BotProcess, emu: SlackEmulator, bot_db_url: str
) -> None:
    user = new_user()
    response_url = emu.response_url()
    payload = slash_command_payload("contacts", user, CHANNEL, response_url)

    envelope = await emu.socket_send("slash_commands", payload)
    await emu.socket_wait_ack(envelope)
    await emu.socket_send("slash_commands", payload, envelope_id=envelope)

    await emu.wait_for(SOCKET_ACK, count=2, predicate=lambda c: c.args.get("envelope_id") == envelope)
    await posted(emu, response_url)
    await asyncio.sleep(QUIET)
    assert posts_to(emu, response_url) == 1
    assert len(await audit_rows(bot_db_url, user)) == 1


async def test_a_socket_mode_retry_of_a_click_runs_once(
    socket_bot: BotProcess, emu: SlackEmulator, bot_db_url: str
) -> None:
    user = new_user()
    response_url = emu.response_url()
    payload = block_actions_payload("ops_run:0", "/ops contacts", user, CHANNEL, response_url)

    first = await emu.socket_send("interactive", payload)
    retry = await emu.socket_send("interactive", payload, retry_attempt=1, retry_reason="timeout")

    await emu.socket_wait_ack(first)
    ack = await emu.socket_wait_ack(retry)
    assert ack.elapsed < 1.0
    assert acks_of(emu, first) == acks_of(emu, retry) == 1
    await posted(emu, response_url)
    await asyncio.sleep(QUIET)
    assert [(r["operation"], r["source"]) for r in await audit_rows(bot_db_url, user)] == [("contacts", "button")]


# ---------------------------------------------------------------------- the check itself


def test_an_event_is_known_by_its_event_id_and_a_request_without_an_id_is_never_dropped() -> None:
    assert content_of({"event_id": "Ev1", "event": {"type": "app_mention"}}) == content_of({"event_id": "Ev1"})
    assert content_of({"event_id": "Ev1"}) != content_of({"event_id": "Ev2"})
    assert content_of({"command": "/ops", "text": "status", "user_id": "U1"}) is None  # no trigger_id


async def test_a_hung_redis_costs_one_short_wait_then_none_while_it_stays_hung(redis_prefix: str) -> None:
    server, url = await start_silent_server()
    port = url.rsplit(":", 1)[1]
    deduper = Deduper.connect(f"redis://127.0.0.1:{port}/0", redis_prefix)
    try:
        started = time.perf_counter()
        first = await deduper.check("sig-1", "req-1")
        waited = time.perf_counter() - started
        started = time.perf_counter()
        again = await deduper.check("sig-2", "req-1")
        second_wait = time.perf_counter() - started
    finally:
        await deduper.close()
        server.close()
    assert (first, again) == ("new", "duplicate")
    assert waited < TIMEOUT + 0.5, waited
    assert second_wait < 0.05, second_wait


async def test_a_burst_of_simultaneous_acks_is_checked_in_redis_not_in_one_process_memory(redis_prefix: str) -> None:
    """More requests at once than the client has connections: they wait for one, not fail open."""
    prefix = f"{redis_prefix}burst:"
    deduper = Deduper.connect(REDIS_URL, prefix)
    try:
        verdicts = await asyncio.gather(*(deduper.check(f"sig-{n}", f"req-{n}") for n in range(300)))
        stored = [key async for key in deduper.redis.scan_iter(match=f"{prefix}*", count=1000)]
    finally:
        await deduper.close()
    assert set(verdicts) == {"new"}
    assert len(stored) == 600
