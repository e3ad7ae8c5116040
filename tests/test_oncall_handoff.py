"""Hand-offs with time stopped: the rota's user group follows who is on call, through a Slack
outage that spans two hand-offs (one update when Slack is back, to today's person); the
incoming person gets a summary in the rota's channel; the `remind` DM; the gap warning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import RuntimeFactory
from oncall_parts import SCL, local, rota_config, start_pinned
from slack_emulator import SlackEmulator

from bot.core.dispatcher import Invocation
from bot.jobs.handoff import HandoffWatcher

THREE = "members: [U0DEVOPS, U0DEVOPS2, U0THIRD]"
EXTRA = "    usergroup: S0ONCALL\n    channel: C0ONCALL\n    remind: 30m\n"


def config(hours: str | None = None) -> str:
    text = rota_config(hours=hours).replace("members: [U0DEVOPS, U0DEVOPS2]", THREE)
    return text.replace("    timezone: America/Santiago\n", "    timezone: America/Santiago\n" + EXTRA, 1)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def updates(emu: SlackEmulator) -> list[str]:
    return [str(c.args.get("users")) for c in emu.calls("usergroups.users.update")]


def channel_texts(emu: SlackEmulator, channel: str) -> list[str]:
    """What was posted in `channel`, as its blocks say it (mrkdwn: mentions as <@U…>)."""
    return [str(c.args.get("blocks", "")) for c in emu.calls("chat.postMessage") if c.args.get("channel") == channel]


async def test_user_group_follows_the_handoff_and_catches_up_once_after_a_slack_outage(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, store_clock, worker_clock = await start_pinned(
        make_runtime, emu, fresh_db_url, config(), local(2026, 12, 7, 9, 0, 10)
    )
    watcher = HandoffWatcher(runtime.deps)

    async def at(moment: object) -> None:
        store_clock.now = worker_clock.now = moment  # type: ignore[assignment]
        await watcher.tick()

    await at(local(2026, 12, 7, 9, 0, 10))
    await emu.wait_for("usergroups.users.update", timeout=10)
    assert emu.usergroups["S0ONCALL"] == ["U0DEVOPS"]
    await emu.close_port()  # Slack is down over the next two hand-offs
    await at(local(2026, 12, 8, 9, 0, 10))  # U0DEVOPS2's
    await asyncio.sleep(0.5)
    await at(local(2026, 12, 9, 9, 0, 10))  # U0THIRD's
    await asyncio.sleep(0.5)
    assert updates(emu) == ["U0DEVOPS"]
    await emu.reopen_port()
    await emu.wait_for("usergroups.users.update", count=2, timeout=20)
    await asyncio.sleep(1.0)  # the step queued behind it goes too, and finds nothing to change
    assert updates(emu) == ["U0DEVOPS", "U0THIRD"]
    assert emu.usergroups["S0ONCALL"] == ["U0THIRD"]
    async with runtime.deps.db.connection() as conn:
        results = await conn.fetch("SELECT state, result FROM escalation_steps WHERE kind = 'usergroup' ORDER BY id")
    assert [r["state"] for r in results] == ["done", "done", "done"]
    assert sum("unchanged" in str(r["result"]) for r in results) == 1


async def test_an_override_now_changes_the_user_group_at_the_next_look(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, store_clock, worker_clock = await start_pinned(
        make_runtime, emu, fresh_db_url, config(), local(2026, 12, 7, 10, 0)
    )
    watcher = HandoffWatcher(runtime.deps)
    await watcher.tick()
    await emu.wait_for("usergroups.users.update", timeout=10)
    over = await runtime.dispatcher.dispatch(Invocation("oncall override <@U0THIRD|t> 1h", "U0DEVOPS", "C1", "slack"))
    assert over.ok, over.summary
    await watcher.tick()
    await emu.wait_for("usergroups.users.update", count=2, timeout=10)
    assert emu.usergroups["S0ONCALL"] == ["U0THIRD"]
    store_clock.now = worker_clock.now = local(2026, 12, 7, 11, 0, 5)  # the override is over
    await watcher.tick()
    await emu.wait_for("usergroups.users.update", count=3, timeout=10)
    assert updates(emu) == ["U0DEVOPS", "U0THIRD", "U0DEVOPS"]


async def test_the_incoming_person_gets_a_summary_in_the_rota_channel_and_a_reminder_before(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, store_clock, worker_clock = await start_pinned(
        make_runtime, emu, fresh_db_url, config(), local(2026, 12, 7, 9, 0, 5)
    )
    watcher = HandoffWatcher(runtime.deps)
    await watcher.tick()  # Monday's first hand-off (no previous shift)
    declared = await runtime.dispatcher.dispatch(
        Invocation("incident declare sev2 Reportes <!channel> lentos", "U0VIEW", "C1", "slack")
    )
    assert declared.ok
    store_clock.now = worker_clock.now = local(2026, 12, 8, 8, 35)  # 25 minutes before Tuesday's hand-off
    await watcher.tick()
    await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS2")
    store_clock.now = worker_clock.now = local(2026, 12, 8, 9, 0, 20)
    await watcher.tick()
    await watcher.tick()  # a second look (another replica) claims nothing new
    await emu.wait_for(
        "chat.postMessage", count=2, timeout=10, predicate=lambda c: "hand-off" in str(c.args.get("text"))
    )
    await asyncio.sleep(0.5)
    summaries = [t for t in channel_texts(emu, "C0ONCALL") if "hand-off" in t]
    assert len(summaries) == 2
    tuesday = summaries[-1]
    assert "<@U0DEVOPS2> is on call until 2026-12-09 09:00" in tuesday and "Taking over from <@U0DEVOPS>" in tuesday
    assert "INC-1 SEV2" in tuesday and "<!channel>" not in tuesday
    assert "1 incident declared" in tuesday
    reminders = channel_texts(emu, "DU0DEVOPS2")
    assert len(reminders) == 1 and "starts at 2026-12-08 09:00" in reminders[0]


async def test_a_gap_in_the_next_seven_days_is_warned_in_the_channel_once_a_day(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime, store_clock, _ = await start_pinned(
        make_runtime, emu, fresh_db_url, config(hours="09:00-18:00"), local(2026, 12, 7, 10, 0)
    )
    watcher = HandoffWatcher(runtime.deps)
    await watcher.tick()
    store_clock.now = local(2026, 12, 7, 10, 5)
    await watcher.tick()
    await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: "uncovered" in str(c.args.get("text")))
    await asyncio.sleep(0.5)
    # (the runtime's own watcher may have looked once before the test stopped time: its day differs)
    warnings = [t for t in channel_texts(emu, "C0ONCALL") if "uncovered" in t and "2026-12-07 18:00" in t]
    assert len(warnings) == 1 and "2026-12-07 18:00 – 2026-12-08 09:00" in warnings[0]


async def test_a_change_of_ops_yml_that_moves_shifts_tells_each_person_once(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    # real time throughout (the runtimes' own watchers look too, by the same clock): a rota
    # starting tomorrow, so every shift compared lies wholly ahead
    tomorrow = (datetime.now(SCL) + timedelta(days=1)).date()
    before = config().replace("start: 2026-12-07", f"start: {tomorrow}")
    runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, before, datetime.now(UTC))
    runtime.deps.incidents.clock = runtime.deps.escalation.clock = None  # type: ignore[union-attr]
    await HandoffWatcher(runtime.deps).tick()  # the layout is recorded; nobody is told anything
    # the new ops.yml: U0DEVOPS2 and U0THIRD trade places from the start; U0DEVOPS keeps every shift
    after = before.replace(THREE, "members: [U0DEVOPS, U0THIRD, U0DEVOPS2]")
    restarted, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, after, datetime.now(UTC))
    restarted.deps.incidents.clock = restarted.deps.escalation.clock = None  # type: ignore[union-attr]
    watcher = HandoffWatcher(restarted.deps)
    await watcher.tick()
    await watcher.tick()  # told once
    await emu.wait_for(
        "chat.postMessage", count=2, timeout=10, predicate=lambda c: "moved your shifts" in str(c.args.get("blocks"))
    )
    await asyncio.sleep(0.5)
    moved = [c for c in emu.calls("chat.postMessage") if "moved your shifts" in str(c.args.get("blocks"))]
    assert sorted(str(c.args["channel"]) for c in moved) == ["DU0DEVOPS2", "DU0THIRD"]
    third = next(str(c.args["blocks"]) for c in moved if c.args["channel"] == "DU0THIRD")
    second_day = tomorrow + timedelta(days=1)
    assert f"{second_day} 09:00 – {second_day + timedelta(days=1)} 09:00" in third  # day two is U0THIRD's now


async def test_the_summary_lists_the_silences_that_end_during_the_shift(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    import aiohttp
    from observability import start_alertmanager

    from bot.targets.alertmanager import Alertmanager, Matcher

    peer = await start_alertmanager("http://127.0.0.1:9/unused", "unused-token")
    try:
        async with aiohttp.ClientSession() as session:
            client = Alertmanager(session, peer.url, 5.0)
            await client.create_silence(
                [Matcher(name="alertname", value="PaymentsFailing")], timedelta(hours=2), "t", "x"
            )
            await client.create_silence([Matcher(name="alertname", value="DiskFull")], timedelta(days=3), "t", "y")
        # a rota handing off this very minute (real time: Alertmanager's silences are in real time)
        now = datetime.now(SCL).replace(second=0, microsecond=0)
        text = config().replace('handoff: "09:00"', f'handoff: "{now:%H:%M}"')
        text = text.replace("start: 2026-12-07", f"start: {(now - timedelta(days=1)).date()}")
        text = text.replace("stack:\n", f"stack:\n  alertmanager:\n    url: {peer.url}\n    timeout: 3s\n", 1)
        runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, text, datetime.now(UTC))
        await HandoffWatcher(runtime.deps).tick()
        await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: "hand-off" in str(c.args.get("blocks")))
        summary = next(t for t in channel_texts(emu, "C0ONCALL") if "hand-off" in t)
        line = next(x for x in summary.split("\\n") if "Silences ending" in x)
        assert "alertname=PaymentsFailing" in line and "DiskFull" not in line
    finally:
        peer.stop()
