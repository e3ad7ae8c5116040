"""The bot's own Postgres away while a page falls due (a private cluster really stopped): the page
goes once it is back, its thread line gives the database as the reason it is late (not "the bot
was not running"), and the outage is one warning and one "back" line in the log, not several a
second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from conftest import RuntimeFactory
from parts import PostgresPart
from slack_emulator import SlackEmulator
from test_escalation_outages import declare, emu, start, thread_lines  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

LATER = """\
escalation:
  sev1:
    - {after: 3s, notify: devops, on_call: true}
"""


@pytest.fixture
def postgres() -> Iterator[PostgresPart]:
    part = PostgresPart()
    yield part
    part.server.stop()


async def test_a_page_late_because_the_bots_database_was_down_says_so_once(
    emu: SlackEmulator,  # noqa: F811
    postgres: PostgresPart,
    make_runtime: RuntimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.incidents.escalation")
    runtime = await start(make_runtime, emu, postgres.url(), LATER)
    await declare(runtime)
    await emu.wait_for("chat.postMessage", timeout=10, predicate=lambda c: c.args.get("channel") == "C0INCIDENTS")
    await asyncio.sleep(0.5)  # the announce recorded
    postgres.stop()
    await asyncio.sleep(10.0)  # the page (3 s after the declare) falls due while it is down
    assert not emu.calls("conversations.open"), "paged while the database was down?"
    postgres.start()
    await emu.wait_for("chat.postMessage", timeout=30, predicate=lambda c: c.args.get("channel") == "DU0DEVOPS")
    await emu.wait_for(
        "chat.postMessage",
        timeout=15,
        predicate=lambda c: "U0DEVOPS>" in str(c.args.get("text")) and c.args.get("thread_ts"),
    )
    line = next(t for t in thread_lines(emu) if "<@U0DEVOPS>" in t)
    assert "late" in line and "the bot's database was unavailable from" in line, line
    assert "not running" not in line
    said = [r.getMessage() for r in caplog.records if r.name == "bot.incidents.escalation"]
    down = [m for m in said if "bot database unavailable" in m]
    assert len(down) == 1, down
    assert sum("database back" in m for m in said) == 1, said
