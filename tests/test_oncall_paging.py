"""Escalation asks the rota who is on call when a page is sent, not when the incident was
declared; a gap pages the role's other contacts and says so in the thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from conftest import RuntimeFactory
from oncall_parts import local, rota_config, start_pinned
from slack_emulator import SlackEmulator
from test_incidents import declare, dm_users, page_steps, pages_done, settled, thread_texts, wait_pages


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def test_sev1_declared_at_0859_paged_at_0900_30_pages_the_new_on_call(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    declared = local(2026, 12, 8, 8, 59)  # Tuesday: U0DEVOPS's shift until 09:00, then U0DEVOPS2's
    runtime, store_clock, worker_clock = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), declared)
    worker_clock.now = declared - timedelta(minutes=1)  # the worker is behind: nothing is due for it yet
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0DEVOPS"
    result = await declare(runtime, "sev1 Pagos no se procesan")
    assert result.ok
    planned = await page_steps(runtime)
    assert planned["U0DEVOPS"].payload["rota"] == "devops"  # the guess at declare time, asked again at send
    await asyncio.sleep(0.3)
    assert dm_users(emu) == []
    worker_clock.now = store_clock.now = local(2026, 12, 8, 9, 0, 30)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.wake()
    await wait_pages(emu, 2, 10)
    assert sorted(dm_users(emu)) == ["U0DEVOPS2", "U0TECHLEAD"]
    await settled(runtime, pages_done(2))
    sent = await page_steps(runtime)
    assert sent["U0DEVOPS2"].payload["resolved_at"] == local(2026, 12, 8, 9, 0, 30).isoformat()
    assert sent["U0DEVOPS2"].fired_at == local(2026, 12, 8, 9, 0, 30)


async def test_a_gap_pages_the_roles_other_contacts_and_says_so_in_the_thread(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    night = local(2026, 12, 8, 20, 0)  # the rota covers 09:00-18:00 only
    text = rota_config(hours="09:00-18:00")
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, text, night)
    assert "devops" not in await runtime.deps.incidents.on_call()  # not `on_call: true`'s U0DEVOPS
    await declare(runtime, "sev1 Todo caído")
    await wait_pages(emu, 3, 10)
    assert sorted(dm_users(emu)) == ["U0DEVOPS", "U0DEVOPS2", "U0TECHLEAD"]
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: "a gap" in str(c.args.get("text")))
    gap_line = next(t for t in thread_texts(emu) if "a gap" in t)
    assert "devops" in gap_line and "<@U0DEVOPS>" in gap_line and "<@U0DEVOPS2>" in gap_line


async def test_oncall_set_on_a_rota_is_an_override_until_the_next_handoff(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    from bot.core.dispatcher import Invocation

    runtime, store_clock, _ = await start_pinned(
        make_runtime, emu, fresh_db_url, rota_config(), local(2026, 12, 8, 10, 0)
    )
    handed = await runtime.dispatcher.dispatch(Invocation("oncall set <@U0NEWOPS|nico>", "U0ADMIN", "C1", "slack"))
    assert handed.ok, handed.summary
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0NEWOPS"
    store_clock.now = local(2026, 12, 9, 8, 59)
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0NEWOPS"
    store_clock.now = local(2026, 12, 9, 9, 0)  # the next hand-off: the rota again
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0DEVOPS"
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch("SELECT user_id, kind, created_by, starts_at, ends_at FROM oncall_overrides")
    assert [(r["user_id"], r["kind"], r["created_by"]) for r in rows] == [("U0NEWOPS", "set", "U0ADMIN")]
    assert rows[0]["starts_at"] == local(2026, 12, 8, 10, 0) and rows[0]["ends_at"] == local(2026, 12, 9, 9, 0)
