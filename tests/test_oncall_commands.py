"""`/ops oncall …` with time stopped: now and next, the schedule, set, override, swap and cover
(their Accept / Decline buttons, each answer told to the asker, the first accept winning once
even when two replicas take two clicks at the same moment)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from conftest import RuntimeFactory
from oncall_parts import local, rota_config, start_pinned
from slack_emulator import SlackEmulator

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Result

MONDAY_10 = local(2026, 12, 7, 10, 0)  # U0DEVOPS's first daily shift (09:00 to Tuesday 09:00)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def run(runtime: Runtime, text: str, user: str = "U0VIEW") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


def dms_to(emu: SlackEmulator, user: str) -> list[str]:
    return [
        str(c.args.get("text", "")) + str(c.args.get("blocks", ""))
        for c in emu.calls("chat.postMessage")
        if c.args.get("channel") == f"D{user}"
    ]


async def test_oncall_says_who_is_on_now_and_who_is_next_and_when(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    shown = await run(runtime, "oncall")
    assert shown.ok
    text = str(shown.blocks)
    assert "Marta Gil (U0DEVOPS)" in text and "Pablo Soto (U0DEVOPS2)" in text
    assert "2026-12-08 09:00" in text and "America/Santiago" in text


async def test_schedule_lists_the_coming_shifts_in_the_readers_zone_with_overrides(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    over = await run(runtime, "oncall override <@U0NEWOPS|n> 2026-12-08T12:00 2026-12-08T14:00 devops", "U0ADMIN")
    assert over.ok, over.summary
    shown = await run(runtime, "oncall schedule 2d")
    assert shown.ok and "next 2d" in shown.title
    rows = next(b for b in shown.blocks if hasattr(b, "rows")).rows  # type: ignore[attr-defined]
    assert [(r[0], r[1], r[2].split(" (")[-1].rstrip(")"), r[3]) for r in rows] == [
        ("Mon 2026-12-07 10:00", "Tue 2026-12-08 09:00", "U0DEVOPS", "daily"),
        ("Tue 2026-12-08 09:00", "Tue 2026-12-08 12:00", "U0DEVOPS2", "daily"),
        ("Tue 2026-12-08 12:00", "Tue 2026-12-08 14:00", "U0NEWOPS", "override"),
        ("Tue 2026-12-08 14:00", "Wed 2026-12-09 09:00", "U0DEVOPS2", "daily"),
        ("Wed 2026-12-09 09:00", "Wed 2026-12-09 10:00", "U0DEVOPS", "daily"),
    ]
    bad = await run(runtime, "oncall schedule nonsense")
    assert not bad.ok and "devops" in bad.summary


async def test_an_override_tells_the_person_whose_future_shift_it_takes(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    over = await run(runtime, "oncall override <@U0NEWOPS|n> 2026-12-08T12:00 2026-12-08T14:00 devops", "U0ADMIN")
    assert over.ok, over.summary
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS2")
    told = [m for m in dms_to(emu, "U0DEVOPS2") if "is now covered by" in m]
    assert len(told) == 1 and "<@U0NEWOPS>" in told[0] and "2026-12-08 12:00 – 2026-12-08 14:00" in told[0]
    assert not [m for m in dms_to(emu, "U0DEVOPS") if "is now covered by" in m]  # Monday's person keeps theirs


async def test_setting_who_already_is_on_call_says_so_and_writes_nothing(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    same = await run(runtime, "oncall set <@U0DEVOPS|marta>", "U0ADMIN")
    assert same.ok and "already on call" in same.summary
    async with runtime.deps.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM oncall_overrides") == 0


async def test_override_own_shift_as_viewer_but_not_someone_elses(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, store_clock, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    refused = await run(runtime, "oncall override <@U0VIEW|v> 2h", "U0DEVOPS2")  # not U0DEVOPS2's shift now
    assert not refused.ok and "only an admin" in refused.summary
    mine = await run(runtime, "oncall override <@U0DEVOPS2|p> 2h", "U0DEVOPS")
    assert mine.ok, mine.summary
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0DEVOPS2"
    store_clock.now = local(2026, 12, 7, 12, 0)
    assert (await runtime.deps.incidents.on_call())["devops"] == "U0DEVOPS"
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS2")
    assert any("put you on call for devops" in m for m in dms_to(emu, "U0DEVOPS2"))
    late = await run(runtime, "oncall override <@U0DEVOPS2|p> 2026-12-07T18:00 2026-12-07T17:00", "U0ADMIN")
    assert not late.ok and "after the start" in late.summary


async def test_swap_asks_with_buttons_and_an_accept_swaps_both_shifts_and_tells_the_asker(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), MONDAY_10)
    asked = await run(runtime, "oncall swap <@U0DEVOPS2|p> 2026-12-09", "U0DEVOPS")  # Wednesday 09:00: U0DEVOPS
    assert asked.ok, asked.summary
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS2")
    ask = dms_to(emu, "U0DEVOPS2")[0]
    assert "Accept" in ask and "Decline" in ask and "/ops oncall answer 1 accept" in ask
    stranger = await run(runtime, "oncall answer 1 accept", "U0VIEW")
    assert not stranger.ok
    took = await run(runtime, "oncall answer 1 accept", "U0DEVOPS2")
    assert took.ok, took.summary
    rota = runtime.deps.incidents.oncall
    async with runtime.deps.db.connection() as conn:
        wednesday = await rota.who(conn, "devops", local(2026, 12, 9, 12, 0))
        thursday = await rota.who(conn, "devops", local(2026, 12, 10, 12, 0))
    assert wednesday is not None and wednesday.user == "U0DEVOPS2"
    assert thursday is not None and thursday.user == "U0DEVOPS"  # U0DEVOPS2's next shift, taken in return
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS")
    assert any("accepted your swap request" in m for m in dms_to(emu, "U0DEVOPS"))
    again = await run(runtime, "oncall answer 1 decline", "U0DEVOPS2")
    assert not again.ok


async def test_cover_taken_by_the_first_accept_once_across_two_replicas(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    text = rota_config().replace("members: [U0DEVOPS, U0DEVOPS2]", "members: [U0DEVOPS, U0DEVOPS2, U0THIRD]")
    one, clock_one, _ = await start_pinned(make_runtime, emu, fresh_db_url, text, MONDAY_10)
    two, clock_two, _ = await start_pinned(make_runtime, emu, fresh_db_url, text, MONDAY_10)
    asked = await run(one, "oncall cover 2h", "U0DEVOPS")
    assert asked.ok and "Asked 2 people" in asked.summary, asked.summary
    await emu.wait_for("chat.postMessage", count=2, timeout=5, predicate=lambda c: "asks for cover" in str(c.args))
    assert any("/ops oncall answer 1 accept" in m for m in dms_to(emu, "U0THIRD"))
    first, second = await asyncio.gather(
        run(one, "oncall answer 1 accept", "U0DEVOPS2"), run(two, "oncall answer 1 accept", "U0THIRD")
    )
    assert sorted([first.ok, second.ok]) == [False, True]
    loser = second if first.ok else first
    winner = "U0DEVOPS2" if first.ok else "U0THIRD"
    assert "Already taken by" in loser.summary and winner in loser.summary
    async with one.deps.db.connection() as conn:
        rows = await conn.fetch("SELECT user_id, kind, request_id FROM oncall_overrides")
    assert [(r["user_id"], r["kind"], r["request_id"]) for r in rows] == [(winner, "cover", 1)]
    assert (await two.deps.incidents.on_call())["devops"] == winner
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS")
    await asyncio.sleep(0.3)
    told = [m for m in dms_to(emu, "U0DEVOPS") if "your cover request" in m]
    assert len(told) == 1 and winner in told[0]
    clock_one.now = clock_two.now = local(2026, 12, 7, 12, 0)  # the 2 h are over: the rota again
    assert (await one.deps.incidents.on_call())["devops"] == "U0DEVOPS"


async def test_a_declined_swap_is_closed_and_a_declined_cover_stays_open_each_told_to_the_asker(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    text = rota_config().replace("members: [U0DEVOPS, U0DEVOPS2]", "members: [U0DEVOPS, U0DEVOPS2, U0THIRD]")
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, text, MONDAY_10)
    assert (await run(runtime, "oncall swap <@U0DEVOPS2|p> 2026-12-10", "U0DEVOPS")).ok  # Thursday: U0DEVOPS
    declined = await run(runtime, "oncall answer 1 decline", "U0DEVOPS2")
    assert declined.ok and "Declined" in declined.summary
    assert not (await run(runtime, "oncall answer 1 accept", "U0DEVOPS2")).ok  # closed
    assert (await run(runtime, "oncall cover 1h", "U0DEVOPS")).ok
    assert (await run(runtime, "oncall answer 2 decline", "U0DEVOPS2")).ok
    took = await run(runtime, "oncall answer 2 accept", "U0THIRD")  # still open for the others
    assert took.ok, took.summary
    await emu.wait_for(
        "chat.postMessage", count=3, timeout=10, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS"
    )
    told = dms_to(emu, "U0DEVOPS")
    assert sum("declined your swap request" in m for m in told) == 1
    assert sum("declined your cover request" in m for m in told) == 1
    assert sum("<@U0THIRD> accepted your cover request" in m for m in told) == 1
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch("SELECT user_id, kind FROM oncall_overrides ORDER BY id")
    assert [(r["user_id"], r["kind"]) for r in rows] == [("U0THIRD", "cover")]
