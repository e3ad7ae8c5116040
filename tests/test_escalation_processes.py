"""Escalation with real `ops-bot serve` processes: a kill -9 loses no page, two replicas on one
database send each page once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from botproc import SIGNING_SECRET, BotLauncher, BotProcess
from conftest import base_config
from e2e import ACK_BUDGET
from slack_emulator import SlackEmulator
from slack_signing import signed_headers, slash_command_body

POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
    - {notify: tech_lead}
    - {after: 3s, unless: acknowledged, notify: cto}
"""


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def declare(bot: BotProcess, emu: SlackEmulator, title: str) -> None:
    trigger = f"t.{uuid.uuid4().hex}"  # Slack gives every invocation its own trigger id
    body = slash_command_body(
        f"incident declare sev1 {title}", "U0BACKEND", "C0DEV", emu.response_url(), trigger_id=trigger
    )
    status, _, seconds = await bot.request("POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET))
    assert status == 200 and seconds < ACK_BUDGET, f"ack took {seconds:.3f}s"


async def page_steps(db_url: str) -> dict[str, asyncpg.Record]:
    """The page steps by paged user, as the bot recorded them."""
    conn = await asyncpg.connect(db_url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT payload->>'user' AS user, state, due_at, fired_at, fired_by, late_ms FROM escalation_steps"
            " WHERE kind = 'page'"
        )
    finally:
        await conn.close()
    return {row["user"]: row for row in rows}


async def pages_done(db_url: str, users: set[str], timeout: float = 10.0) -> dict[str, asyncpg.Record]:
    """The page steps once those of `users` are committed done (just after their DMs went out)."""
    deadline = time.monotonic() + timeout
    while True:
        steps = await page_steps(db_url)
        if all(u in steps and steps[u]["state"] == "done" for u in users) or time.monotonic() > deadline:
            return steps
        await asyncio.sleep(0.05)


def paged(emu: SlackEmulator, user: str) -> int:
    """Pages are the DMs themselves (opening the DM channel again is harmless)."""
    return sum(1 for c in emu.calls("chat.postMessage") if c.args.get("channel") == f"D{user}")


async def test_kill_9_during_the_wait_the_cto_page_still_comes_once_and_says_it_is_late(
    emu: SlackEmulator, fresh_db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(extra=POLICY), encoding="utf-8")
    async with BotLauncher(tmp_path) as launcher:
        first = await launcher.serve(config, emu.api_url, fresh_db_url, extra_env={"REDIS_PREFIX": redis_prefix})
        await declare(first, emu, "Pagos no se procesan")
        declared = time.monotonic()
        await emu.wait_for(
            "chat.postMessage", count=2, timeout=5, predicate=lambda c: str(c.args["channel"]).startswith("D")
        )
        steps = await pages_done(fresh_db_url, {"U0DEVOPS", "U0TECHLEAD"})  # committed: not sent again
        assert steps["U0CTO"]["state"] == "pending"
        first.proc.kill()  # kill -9: no shutdown, the CTO step is still pending in Postgres
        await first.proc.wait()
        await asyncio.sleep(max(0.0, declared + 9.0 - time.monotonic()))
        assert paged(emu, "U0CTO") == 0
        await launcher.serve(config, emu.api_url, fresh_db_url, extra_env={"REDIS_PREFIX": redis_prefix})
        await emu.wait_for(
            "chat.postMessage", count=3, timeout=8, predicate=lambda c: str(c.args["channel"]).startswith("D")
        )
        steps = await pages_done(fresh_db_url, {"U0CTO"})
        # its thread line follows the page (a note of the pages' record). A thread line the killed
        # replica held (leased, maybe posted) keeps the later ones waiting until its lease (45 s)
        # runs out and it is looked for in Slack: lines stay in order, so this may take that long.
        await emu.wait_for("chat.postMessage", timeout=70, predicate=lambda c: "escalated" in str(c.args.get("text")))
        await asyncio.sleep(1.0)
    assert [paged(emu, u) for u in ("U0DEVOPS", "U0TECHLEAD", "U0CTO")] == [1, 1, 1]
    cto = steps["U0CTO"]
    assert cto["fired_at"] >= cto["due_at"] and cto["fired_by"] != steps["U0DEVOPS"]["fired_by"]
    assert cto["late_ms"] >= 5000, "the restarted replica fired it late, and says so below"
    escalated = [str(c.args["text"]) for c in emu.calls("chat.postMessage") if "escalated" in str(c.args.get("text"))]
    assert len(escalated) == 1 and "late" in escalated[0], escalated


async def test_two_replicas_on_one_database_send_every_page_once(
    emu: SlackEmulator, fresh_db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(extra=POLICY), encoding="utf-8")
    async with BotLauncher(tmp_path) as launcher:
        replicas = [
            await launcher.serve(config, emu.api_url, fresh_db_url, extra_env={"REDIS_PREFIX": redis_prefix})
            for _ in range(2)
        ]
        for n in range(6):
            await declare(replicas[n % 2], emu, f"incidente {n}")
        await emu.wait_for(
            "chat.postMessage", count=18, timeout=20, predicate=lambda c: str(c.args["channel"]).startswith("D")
        )
        await asyncio.sleep(2.0)
    assert [paged(emu, u) for u in ("U0DEVOPS", "U0TECHLEAD", "U0CTO")] == [6, 6, 6]
    announces = [
        c
        for c in emu.calls("chat.postMessage")
        if c.args.get("channel") == "C0INCIDENTS" and not c.args.get("thread_ts")
    ]
    assert len(announces) == 6
