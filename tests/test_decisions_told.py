"""The requester hears of a second admin's decision at once (issue 24, item 5): in Slack as a
direct message, in the terminal as a line printed by the session that asked.

Real parts: the bot's Redis (the decision is published there), a private Redis as the stack's
cache for `cache flush-all` (a critical step), the real `ops-bot shell` on a pty for the
terminals; Slack is the emulator.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from confirm_flow import click, run_confirmed
from conftest import RuntimeFactory, base_config
from private_redis import PrivateRedis
from slack_emulator import SlackEmulator
from test_shell_pty import CHOOSE, PROMPT, OpenShell, Terminal, open_shell

from bot.app.runtime import Runtime
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

__all__ = ["open_shell"]  # fixture

REQUESTER, APPROVER = "U0ADMIN", "U0ADMIN2"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def slack_runtime(make_runtime: RuntimeFactory, emu: SlackEmulator, redis: PrivateRedis) -> Runtime:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    return await make_runtime(base_config(target_redis=redis.url), notifier=notifier)


async def dm_to(emu: SlackEmulator, user: str) -> str:
    calls = await emu.wait_for("chat.postMessage", timeout=10)
    texts = [str(c.args.get("text", "")) + str(c.args.get("blocks", "")) for c in calls]
    return next((text for c, text in zip(calls, texts, strict=True) if c.args.get("channel") == f"D{user}"), "")


async def test_an_approval_is_sent_to_the_requester_in_slack(
    make_runtime: RuntimeFactory, emu: SlackEmulator, private_redis: PrivateRedis
) -> None:
    runtime = await slack_runtime(make_runtime, emu, private_redis)
    done = await run_confirmed(runtime, "cache flush-all", REQUESTER, approver=APPROVER)
    assert done.ok, done.summary
    told = await dm_to(emu, REQUESTER)
    assert f"{APPROVER} approved `/ops cache flush-all`, which you asked for" in told, emu.calls("chat.postMessage")
    assert not any(c.args.get("channel") == f"D{APPROVER}" for c in emu.calls("chat.postMessage"))


async def test_a_turn_down_is_sent_to_the_requester_in_slack(
    make_runtime: RuntimeFactory, emu: SlackEmulator, private_redis: PrivateRedis
) -> None:
    runtime = await slack_runtime(make_runtime, emu, private_redis)
    awaiting = await run_confirmed(runtime, "cache flush-all", REQUESTER)
    rejected = await click(runtime, awaiting, "cancel", APPROVER)
    assert "was cancelled by U0ADMIN2" in rejected.summary, rejected.summary
    told = await dm_to(emu, REQUESTER)
    assert f"{APPROVER} turned down `/ops cache flush-all`, which you asked for: nothing was run." in told


def awaiting_approval(open_shell: OpenShell, private_redis: PrivateRedis) -> tuple[Terminal, Terminal, str]:
    """Two admins' terminals; the first asked for `cache flush-all`, confirmed it (now it waits
    for a second admin) and is back at its prompt. Returns both and the action's id."""
    asker = open_shell(REQUESTER, target_redis=private_redis.url)
    other = open_shell(APPROVER, target_redis=private_redis.url)
    asker.line("/ops cache flush-all")
    asker.expect(re.escape(CHOOSE))
    asker.line("1")  # Confirm: now it waits for a second admin
    approve = asker.expect(r"/ops approve (\w+)")[1]
    asker.expect(re.escape(CHOOSE))
    asker.line("")  # leave the choice open; back at the prompt
    asker.expect(re.escape(PROMPT))
    return asker, other, approve


def test_the_requesters_terminal_prints_a_turn_down_from_another_terminal(
    open_shell: OpenShell, private_redis: PrivateRedis
) -> None:
    asker, other, approve = awaiting_approval(open_shell, private_redis)

    other.line(f"/ops cancel {approve}")
    other.expect(r"was cancelled by U0ADMIN2")
    asker.expect(re.escape(f"⛔ {APPROVER} turned down `/ops cache flush-all`, which you asked for: nothing was run."))
    assert "turned down" not in other.text()


def test_the_requesters_terminal_prints_an_approval_from_another_terminal(
    open_shell: OpenShell, private_redis: PrivateRedis
) -> None:
    asker, other, approve = awaiting_approval(open_shell, private_redis)

    other.line(f"/ops approve {approve}")
    asker.expect(re.escape(f"✅ {APPROVER} approved `/ops cache flush-all`, which you asked for: it runs now."))
    other.expect(re.escape(PROMPT))
