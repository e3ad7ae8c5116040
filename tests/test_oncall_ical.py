"""GET /oncall/<role>.ics on a real `ops-bot serve`: parsed by the `icalendar` package, it holds
the same shifts as `/ops oncall schedule` (overrides included); a wrong token, no token or an
unknown role is a 404; `&user=` keeps one person's shifts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botproc import BotLauncher
from conftest import RuntimeFactory
from icalendar import Calendar
from oncall_parts import SCL, rota_config
from slack_emulator import SlackEmulator

from bot.core.dispatcher import Invocation
from bot.output.results import Table

TOKEN = "tok-0123456789abcdef"


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


def _config(token: bool = True) -> str:
    text = rota_config().replace("start: 2026-12-07", "start: 2024-01-01")
    return text.replace("oncall:\n", f"oncall:\n  ical_token: {TOKEN}\n" if token else "oncall:\n", 1)


def _events(body: bytes) -> list[tuple[str, str, str]]:
    calendar = Calendar.from_ical(body)
    out = []
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("dtstart").astimezone(SCL), event.decoded("dtend").astimezone(SCL)
        user = str(event.get("description")).split()[0]
        out.append((start.strftime("%a %Y-%m-%d %H:%M"), end.strftime("%a %Y-%m-%d %H:%M"), user))
    return sorted(out, key=lambda e: e[0][4:])


async def test_the_ical_feed_parsed_by_icalendar_matches_the_schedule(
    tmp_path: Path, fresh_db_url: str, launcher: BotLauncher, make_runtime: RuntimeFactory
) -> None:
    async with SlackEmulator() as emu:
        runtime = await make_runtime(_config(), database_url=fresh_db_url)
        over = await runtime.dispatcher.dispatch(
            Invocation("oncall override <@U0NEWOPS|n> 3d 2h devops", "U0ADMIN", "C1", "slack")
        )
        assert over.ok, over.summary
        path = tmp_path / "ops.yml"
        path.write_text(_config(), encoding="utf-8")
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60)
        status, body = await bot.get(f"/oncall/devops.ics?token={TOKEN}")
        assert status == 200, body
        shown = await runtime.dispatcher.dispatch(Invocation("oncall schedule devops 14d", "U0VIEW", "C1", "slack"))
        for wrong in (f"/oncall/devops.ics?token={TOKEN}x", "/oncall/devops.ics", f"/oncall/cto.ics?token={TOKEN}"):
            assert (await bot.get(wrong))[0] == 404, wrong
        status, mine = await bot.get(f"/oncall/devops.ics?token={TOKEN}&user=U0NEWOPS")
    assert status == 200
    events = _events(body.encode())
    table = next(b for b in shown.blocks if isinstance(b, Table))
    rows = [(r[0], r[1], r[2].split(" (")[-1].rstrip(")")) for r in table.rows]
    assert len(rows) >= 14 and any(r[2] == "U0NEWOPS" for r in rows)
    assert events[0][1:] == rows[0][1:]  # the running shift: the feed shows it from its real start
    assert events[1 : len(rows) - 1] == rows[1:-1]
    assert events[len(rows) - 1][0] == rows[-1][0]  # the last row is cut at 14 days; the feed goes on
    only = _events(mine.encode())
    assert [e[2] for e in only] == ["U0NEWOPS"]


async def test_no_ical_token_means_no_feed(tmp_path: Path, fresh_db_url: str, launcher: BotLauncher) -> None:
    async with SlackEmulator() as emu:
        path = tmp_path / "ops.yml"
        path.write_text(_config(token=False), encoding="utf-8")
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60)
        assert (await bot.get("/oncall/devops.ics?token="))[0] == 404
        assert (await bot.get("/oncall/devops.ics"))[0] == 404
