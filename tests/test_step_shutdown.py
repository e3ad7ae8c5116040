"""A confirmed step and the process that runs it: a real `ops-bot serve` gets SIGTERM (or
SIGKILL) while the step's program runs.

SIGTERM drains: the step ends (or, past SHUTDOWN_GRACE_SECONDS, its program's process group is
killed), the outcome is recorded in Redis and the audit log and shown in Slack before the
process exits. A replica that dies without draining stops renewing the step's lease; the next
replica reports the step interrupted, audits it and releases the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from botproc import REDIS_URL, BotLauncher, BotProcess, shown
from e2e import CHANNEL, answer, audit_rows, click, messages_for, new_message_ts, new_user, slash
from slack_emulator import SlackEmulator
from test_step_lifecycle import migrate_config

pytestmark = pytest.mark.timeout(150)

PREVIEW = r"Confirm[\s\S]*Cancel"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


@pytest.fixture
def prefix(redis_prefix: str, request: pytest.FixtureRequest) -> str:
    return f"{redis_prefix}{request.node.name[:40]}:"


StartBot = Callable[..., Any]


@pytest.fixture
def start(
    launcher: BotLauncher, emu: SlackEmulator, tmp_path: Path, bot_db_url: str, compose_project: str, prefix: str
) -> tuple[StartBot, str]:
    """`await start(recipe, **env)`: `ops-bot serve` whose `db migrate` runs `recipe` (make) in tmp_path;
    the operator is a user of this test's own, so its audit rows are told apart."""
    operator = new_user("U0OP")

    async def start_bot(recipe: str, **env: str) -> BotProcess:
        text = migrate_config(compose_project, tmp_path, recipe).replace(
            "operator: ['U0OPER']", f"operator: ['{operator}']"
        )
        path = tmp_path / f"ops-{len(launcher.started)}.yml"
        path.write_text(text, encoding="utf-8")
        return await launcher.serve(path, emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": prefix, **env})

    return start_bot, operator


async def wait_for_file(path: Path, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(path.exists):
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        await asyncio.sleep(0.02)


async def confirm_step(bot: BotProcess, emu: SlackEmulator, operator: str) -> tuple[Any, str]:
    """Type `db migrate`, click its Confirm: (the click as sent, the confirmation id)."""
    sent = await slash(bot, emu, "db migrate", operator)
    preview = await answer(emu, sent, lambda text: re.search(PREVIEW, text) is not None, timeout=20)
    command = preview.button("confirm")
    return await click(bot, emu, command, operator, message_ts=new_message_ts()), command.split()[-1]


async def record(prefix: str, action: str) -> dict[str, Any]:
    client = aioredis.from_url(REDIS_URL)
    try:
        raw = await client.get(f"{prefix}confirm:{action}")
    finally:
        await client.aclose()
    assert raw is not None
    return dict(json.loads(raw))


async def database_lock(prefix: str) -> bytes | None:
    """The target lock a `db migrate` holds on the stack's database (bot/core/target_locks.py)."""
    client = aioredis.from_url(REDIS_URL)
    try:
        return await client.get(f"{prefix}target:database")  # type: ignore[no-any-return]
    finally:
        await client.aclose()


def executed(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["outcome"], r["source"]) for r in rows if r["operation"] == "db migrate" and r["decision"] == "executed"]


async def test_sigterm_lets_a_running_step_finish_and_records_it(
    start: tuple[StartBot, str], emu: SlackEmulator, tmp_path: Path, bot_db_url: str, prefix: str
) -> None:
    start_bot, operator = start
    bot = await start_bot("touch started\nsleep 3\ntouch migrated")
    clicked, action = await confirm_step(bot, emu, operator)
    await wait_for_file(tmp_path / "started")
    bot.proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(bot.proc.wait(), 60)
    exited = time.time()
    assert code == 0, bot.output()
    migrated = tmp_path / "migrated"
    assert migrated.exists(), "the program was cut by the shutdown"
    assert migrated.stat().st_mtime <= exited
    assert (await record(prefix, action))["state"] == "done"
    assert executed(await audit_rows(bot_db_url, operator)) == [("ok", "button")]
    assert "done" in shown(messages_for(emu, clicked)[-1])


async def test_sigterm_past_the_grace_kills_the_step_and_says_so(
    start: tuple[StartBot, str], emu: SlackEmulator, tmp_path: Path, bot_db_url: str, prefix: str
) -> None:
    start_bot, operator = start
    bot = await start_bot("touch started\necho $$PPID > group\nsleep 60\ntouch migrated", SHUTDOWN_GRACE_SECONDS="1")
    clicked, action = await confirm_step(bot, emu, operator)
    await wait_for_file(tmp_path / "group")
    group = int((tmp_path / "group").read_text())
    assert await database_lock(prefix) is not None, "the running migration holds the database"
    bot.proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(bot.proc.wait(), 60)
    assert code == 0, bot.output()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # make and its sleep are gone with the bot
    assert not (tmp_path / "migrated").exists()
    assert (await record(prefix, action))["state"] == "interrupted"
    assert await database_lock(prefix) is None, "the drain gave the database back"
    assert executed(await audit_rows(bot_db_url, operator)) == [("interrupted", "button")]
    assert "interrupted" in shown(messages_for(emu, clicked)[-1])


async def test_a_replica_killed_mid_step_is_reported_interrupted_by_the_next(
    start: tuple[StartBot, str], emu: SlackEmulator, tmp_path: Path, bot_db_url: str, prefix: str
) -> None:
    start_bot, operator = start
    recipe = "echo $$PPID > group\nsleep 60\ntouch migrated"
    first = await start_bot(recipe, STEP_LEASE_SECONDS="1.5")
    clicked, action = await confirm_step(first, emu, operator)
    await wait_for_file(tmp_path / "group")
    group = int((tmp_path / "group").read_text())
    assert await database_lock(prefix) is not None, "the running migration holds the database"
    first.proc.kill()  # no drain: the lease is all that tells
    await first.proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # the orphaned program, which a dead bot cannot stop
    second = await start_bot(recipe, STEP_LEASE_SECONDS="1.5")
    [told] = await emu.wait_for(
        "chat.postMessage", timeout=30, predicate=lambda c: "was interrupted" in shown(c) and operator in shown(c)
    )
    assert told.args["channel"] == CHANNEL
    assert (await record(prefix, action))["state"] == "interrupted"
    assert executed(await audit_rows(bot_db_url, operator)) == [("interrupted", "recovery")]
    assert await database_lock(prefix) is None, "the dead replica's lock ran out with its lease"
    again = await click(second, emu, f"/ops confirm {action}", operator, message_ts=new_message_ts())
    said = await answer(emu, again, lambda text: "interrupted" in text or "already running" in text)
    assert "interrupted" in said.text and "already running" not in said.text, said.text
    _ = clicked
