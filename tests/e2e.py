"""Driving a real `ops-bot serve` the way Slack does, for the reliability and security tests.

`slash` and `click` build the exact bodies Slack sends, sign them and keep everything needed
to deliver the same request again: as a replay (`resend`: the same bytes and headers) or as
Slack's own redelivery (`redeliver`: the same body, signed anew, with X-Slack-Retry-Num).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from botproc import SIGNING_SECRET, shown
from slack_emulator import RESPONSE_URL, Call, SlackEmulator
from slack_signing import block_actions_body, new_trigger_id, signed_headers, slash_command_body

CHANNEL = "C0OPS"
EVENTS = "/slack/events"
ACK_BUDGET = 3.0
"""Slack's deadline for an ack."""


class Endpoint(Protocol):
    """Where Slack's requests go: one `ops-bot serve` (BotProcess) or a balancer in front of several."""

    async def request(
        self, method: str, path: str, data: str | bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, float]: ...


def new_user(prefix: str = "U0V") -> str:
    """A user id no other test uses, so audit rows and posts can be counted per test."""
    return prefix + secrets.token_hex(4).upper()


@dataclass
class Sent:
    """One request delivered to a bot: what went out and what came back."""

    bot: Endpoint
    body: str
    headers: dict[str, str]
    response_url: str
    status: int
    answer: str
    seconds: float
    at: float = field(default_factory=time.time)
    message_ts: str | None = None
    """For a click: the message the button is on (the bot may edit it with chat.update)."""

    @property
    def ack_text(self) -> str:
        return str(json.loads(self.answer).get("text", "")) if self.answer.strip() else ""

    async def resend(self, to: Endpoint | None = None) -> Sent:
        """The very same bytes and headers again: a replay."""
        return await deliver(to or self.bot, self.body, self.headers, self.response_url)

    async def redeliver(self, attempt: int = 1, to: Endpoint | None = None) -> Sent:
        """What Slack sends when the ack was late: the same body with a new timestamp and signature."""
        timestamp = int(self.headers["X-Slack-Request-Timestamp"]) + attempt
        headers = signed_headers(self.body, SIGNING_SECRET, timestamp)
        headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        return await deliver(to or self.bot, self.body, headers, self.response_url)


async def deliver(bot: Endpoint, body: str, headers: Mapping[str, str], response_url: str) -> Sent:
    at = time.time()
    status, answer, seconds = await bot.request("POST", EVENTS, body, headers)
    return Sent(bot, body, dict(headers), response_url, status, answer, seconds, at)


async def slash(
    bot: Endpoint, emu: SlackEmulator, text: str, user: str, *, channel: str = CHANNEL, secret: str = SIGNING_SECRET
) -> Sent:
    """`/ops <text>` as Slack posts it, signed now."""
    response_url = emu.response_url()
    body = slash_command_body(text, user, channel, response_url, trigger_id=new_trigger_id())
    return await deliver(bot, body, signed_headers(body, secret), response_url)


async def click(
    bot: Endpoint, emu: SlackEmulator, command: str, user: str, *, message_ts: str = "1700000000.000100"
) -> Sent:
    """A click on a bot button whose value is `command` (`/ops confirm <id>`)."""
    response_url = emu.response_url()
    body = block_actions_body("ops_run:0", command, user, CHANNEL, response_url, message_ts=message_ts)
    sent = await deliver(bot, body, signed_headers(body, SIGNING_SECRET), response_url)
    sent.message_ts = message_ts
    return sent


def new_message_ts() -> str:
    """A message ts no other message of the test has, for a click whose edits must be told apart."""
    return f"{int(time.time())}.{secrets.randbelow(10**6):06d}"


def messages_for(emu: SlackEmulator, sent: Sent) -> list[Call]:
    """What the bot posted or edited for one request: response_url posts, and chat.update of a clicked message."""
    wanted = sent.response_url.rsplit("/", 1)[1]
    return [
        c
        for c in emu.calls()
        if (c.method == RESPONSE_URL and c.args.get("_response_id") == wanted)
        or (sent.message_ts and c.method == "chat.update" and c.args.get("ts") == sent.message_ts)
    ]


@dataclass(frozen=True)
class Answer:
    text: str
    after: float
    """Seconds from the request to this message."""
    call: Call

    def button(self, verb: str) -> str:
        """The command of this message's Confirm / Cancel / Approve button."""
        return button(self.call, verb)


async def answer(
    emu: SlackEmulator, sent: Sent, until: Callable[[str], bool] = lambda _: True, timeout: float = 15.0
) -> Answer:
    """The newest message for `sent` once `until(its text)` holds (everything a person would read)."""
    deadline = time.monotonic() + timeout
    while True:
        calls = messages_for(emu, sent)
        if calls and until(shown(calls[-1])):
            return Answer(shown(calls[-1]), calls[-1].at - sent.at, calls[-1])
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching answer within {timeout}s; got {[shown(c) for c in calls]}")
        await asyncio.sleep(0.05)


def button_values(call: Any) -> list[str]:
    """The commands behind the buttons of a posted message."""
    values = []
    for block in call.args.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                values.append(str(element.get("value")))
    return values


def button(call: Any, verb: str) -> str:
    """The `/ops <verb> <id>` command of the Confirm / Cancel / Approve button of a posted message."""
    for value in button_values(call):
        if value.split()[1:2] == [verb]:
            return value
    raise AssertionError(f"no {verb} button in {call.args}")


async def audit_rows(database_url: str, user: str) -> list[dict[str, Any]]:
    """The audit rows of one user, oldest first."""
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT operation, decision, outcome, source, detail FROM audit_log WHERE user_id = $1 ORDER BY id", user
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]
