"""Slack unreachable for five minutes (pinned clock) around a declare, an ack and a note.

Real parts: the bot's Postgres, the escalation worker, the Slack adapter's answer path
(`SlackBot.work` with bolt's own `AsyncRespond` on the emulator's response_urls); the emulator
stops listening (connection refused) for the outage. What the bot promises: every answer
reaches its person once when Slack is back (through the response_url while it lives, 30
minutes, else by DM), the incident's thread reads in the order things happened, and the
person who acknowledged is not paged afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RuntimeFactory
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_emulator import SlackEmulator
from test_escalation_outages import TWO_AT_ONCE, start, thread_lines
from test_slack_updates import slack_bot

import bot.slack.answer
from bot.core.dispatcher import Invocation

pytestmark = pytest.mark.timeout(120)


class PinnedClock:
    """The bot's notion of now (the incident store's and the escalation worker's), moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer path's own retries (seconds) are not what is tested here."""
    monkeypatch.setattr(bot.slack.answer, "BACKOFF", (0.05,))


async def until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def answers(emu: SlackEmulator) -> dict[str, list[str]]:
    """What reached each response_url (by its id), in order."""
    got: dict[str, list[str]] = {}
    for call in emu.calls("response_url"):
        got.setdefault(str(call.args["_response_id"]), []).append(str(call.args.get("text", "")))
    return got


async def outage_around_declare_ack_note(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory, outage: float
) -> tuple[list[str], PinnedClock]:
    clock = PinnedClock()
    runtime = await start(make_runtime, emu, fresh_db_url, TWO_AT_ONCE)
    assert runtime.deps.escalation is not None
    runtime.deps.incidents.clock = runtime.deps.escalation.clock = clock
    slack = slack_bot(runtime, emu)
    await emu.close_port()  # Slack unreachable: every call and response_url refused
    urls = [emu.response_url() for _ in range(3)]
    commands = [
        ("incident declare sev1 Pagos caídos", "U0BACKEND"),
        ("incident ack", "U0DEVOPS"),
        ("incident note el pool de conexiones está lleno", "U0DEVOPS"),
    ]
    for (text, user), url in zip(commands, urls, strict=True):
        await slack.work(Invocation(text, user, "C0DEV", "slack"), AsyncRespond(response_url=url))
        clock.advance(20)
    clock.advance(outage - 60)  # the rest of the outage, then Slack answers again
    await emu.reopen_port()
    return [url.rsplit("/", 1)[1] for url in urls], clock


async def test_answers_made_during_a_five_minute_outage_arrive_once_when_slack_is_back(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    ids, _ = await outage_around_declare_ack_note(emu, fresh_db_url, make_runtime, outage=300)
    await until(lambda: len(answers(emu)) == 3, 30, "the three answers")
    await asyncio.sleep(2.0)  # an answer sent twice would have come by now
    got = answers(emu)
    assert [len(got[i]) for i in ids] == [1, 1, 1], got
    assert (
        "INC-1" in got[ids[0]][0] and "acknowledged by U0DEVOPS" in got[ids[1]][0] and "timeline" in got[ids[2]][0]
    ), got


async def test_the_thread_keeps_the_order_of_events_and_who_acknowledged_is_not_paged(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    await outage_around_declare_ack_note(emu, fresh_db_url, make_runtime, outage=300)
    await until(lambda: any("pool" in line for line in thread_lines(emu)), 30, "the note in the thread")
    await asyncio.sleep(1.0)
    lines = thread_lines(emu)
    kinds = [
        "not paged"
        if "not paged" in line
        else "paged"
        if "Paged" in line
        else "ack"
        if "Acknowledged" in line
        else "note"
        if "pool" in line
        else line
        for line in lines
    ]
    assert kinds == ["not paged", "paged", "ack", "note"], lines
    assert "<@U0DEVOPS>" in lines[0] and "<@U0TECHLEAD>" in lines[1], lines
    devops_dms = [c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "DU0DEVOPS"]
    assert devops_dms == [], "the person who acknowledged got the page afterwards"
    techlead = [c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "DU0TECHLEAD"]
    assert len(techlead) == 1


async def test_an_answer_whose_response_url_expired_goes_by_dm(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    """Slack back 31 minutes after the commands: the response_urls are dead, the answers go by DM."""
    await outage_around_declare_ack_note(emu, fresh_db_url, make_runtime, outage=31 * 60)
    await until(
        lambda: len([c for c in emu.calls("chat.postMessage") if "reply link has expired" in str(c.args)]) >= 3,
        30,
        "three DMs",
    )
    await asyncio.sleep(1.5)
    assert answers(emu) == {}, "a response_url was used after its 30 minutes"
    dms = [c for c in emu.calls("chat.postMessage") if "reply link has expired" in str(c.args)]
    assert sorted(str(c.args["channel"]) for c in dms) == ["DU0BACKEND", "DU0DEVOPS", "DU0DEVOPS"]
    declared = next(c for c in dms if c.args["channel"] == "DU0BACKEND")
    assert "INC-1" in str(declared.args["blocks"]) and "/ops incident declare" in str(declared.args["blocks"])
