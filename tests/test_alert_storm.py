"""An alert storm under Slack's real limit, in-process on a real Postgres and the Slack emulator.

The emulator answers chat.postMessage and chat.update with 429 + Retry-After past one call a
second per channel (Slack's pace). 2,000 groups fire in one channel, then a critical one:
the critical one is posted at once (ranked before the storm's own messages), the storm is one
summary message edited as it changes, and every group is listed once in its thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
from conftest import RuntimeFactory, base_config
from slack_emulator import Call, SlackEmulator
from test_alert_rules import webhook

from bot.alerts.payloads import parse
from bot.alerts.store import AlertStore
from bot.alerts.storm import STORM_BACKLOG
from bot.app.runtime import Runtime
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

pytestmark = pytest.mark.timeout(240)

CONFIG = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
alerts:
  channel: C0ALERTS
  token: storm-test-token-0123456789abcdef
"""
STORM = 2000


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.rate_limit("chat.postMessage", 1, 1)
        emulator.rate_limit("chat.update", 1, 1)
        yield emulator


async def start(make_runtime: RuntimeFactory, emu: SlackEmulator) -> Runtime:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    return await make_runtime(base_config(extra=CONFIG), notifier=notifier)


def text_of(call: Call) -> str:
    return str(call.args.get("text", "")) + json.dumps(call.args.get("blocks") or [], ensure_ascii=False)


def delivered(emu: SlackEmulator, method: str = "chat.postMessage") -> list[Call]:
    return [c for c in emu.calls(method) if not c.limited and c.args.get("channel") == "C0ALERTS"]


async def fire(runtime: Runtime, names: list[str], severity: str) -> None:
    store = AlertStore(runtime.deps.db)
    limit = asyncio.Semaphore(16)

    async def one(name: str) -> None:
        async with limit:
            await store.record("alertmanager", parse("alertmanager", webhook(name, severity=severity)), "C0ALERTS")

    await asyncio.gather(*(one(name) for name in names))


async def test_a_storm_is_one_living_summary_and_a_critical_alert_after_it_goes_first(
    emu: SlackEmulator, make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.alerts.poster")
    runtime = await start(make_runtime, emu)
    names = [f"Storm{n:04d}" for n in range(STORM)]
    await fire(runtime, names, "warning")
    sent = time.time()
    await fire(runtime, ["PaymentsDown"], "critical")

    deadline = time.monotonic() + 60
    while not any("PaymentsDown" in text_of(c) for c in delivered(emu) if not c.args.get("thread_ts")):
        assert time.monotonic() < deadline, "the critical alert was never posted"
        await asyncio.sleep(0.1)
    [critical] = [c for c in delivered(emu) if "PaymentsDown" in text_of(c) and not c.args.get("thread_ts")]
    assert critical.at - sent < 5.0, f"the critical alert came {critical.at - sent:.1f}s after it was received"

    summaries = [c for c in delivered(emu) if not c.args.get("thread_ts") and "Alert storm" in text_of(c)]
    assert len(summaries) == 1, "one storm summary per channel"
    storm_ts = next(m_ts for m_ts, m in emu.messages.items() if "Alert storm" in str(m.get("text")))

    def listed() -> list[str]:
        return [text_of(c) for c in delivered(emu) if c.args.get("thread_ts") == storm_ts]

    def findable() -> tuple[str, list[str], list[str]]:
        lines = "\n".join(listed())
        top_level = [text_of(c) for c in delivered(emu) if not c.args.get("thread_ts")]
        missing = [n for n in names if f"*{n}*" not in lines and not any(n in t for t in top_level)]
        return lines, top_level, missing

    deadline = time.monotonic() + 120
    while findable()[2]:
        assert time.monotonic() < deadline, f"{len(findable()[2])} groups not findable in Slack"
        await asyncio.sleep(0.5)
    await asyncio.sleep(4.0)  # the summary's last edit (every 3 s at most), and any group listed twice
    lines, top_level, _ = findable()
    for name in names:  # every group findable: its own message or the storm's thread, once
        assert lines.count(f"*{name}*") + sum(name in t for t in top_level) == 1, name
    assert len(top_level) < STORM_BACKLOG + 40, f"{len(top_level)} top-level messages for a storm"
    listing = [c for c in delivered(emu) if c.args.get("thread_ts") == storm_ts]
    assert listing[-1].at > critical.at, "the critical alert waited for the storm's listing to finish"
    edits = [c for c in delivered(emu, "chat.update") if c.args.get("ts") == storm_ts]
    async with runtime.deps.db.connection() as conn:
        in_storm = int(await conn.fetchval("SELECT count(*) FROM alert_groups WHERE storm_id IS NOT NULL"))
    assert in_storm > STORM - 50
    assert edits and f"{in_storm:,} groups firing" in text_of(edits[-1]), "the summary was not brought up to date"

    limited = [c for c in emu.calls() if c.limited]
    per_call = [r for r in caplog.records if "ratelimited" in r.getMessage() or "rate limited" in r.getMessage()]
    bursts = [r for r in caplog.records if "Slack rate-limits" in r.getMessage()]
    assert per_call == [], "a line per 429"
    assert len(bursts) <= max(1, len(limited)), (len(bursts), len(limited))
    if len(limited) > 3:
        assert len(bursts) < len(limited), "429s logged one by one"
