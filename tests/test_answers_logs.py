"""`logs --grep` searches the whole log (or the --since window), then keeps the last N matches:
the runbook's `logs api | grep webhook | tail -50`, against real busybox containers."""

from __future__ import annotations

import asyncio
import re

import pytest
from conftest import RuntimeFactory, base_config

from bot.core.dispatcher import Invocation
from bot.output.results import Buttons, Checks, Code, Result, Text
from bot.targets import log_scan


def code_lines(result: Result) -> list[str]:
    return [line for b in result.blocks if isinstance(b, Code) for line in b.text.splitlines()]


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


async def test_grep_searches_the_whole_log_then_keeps_the_last_matches(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    """The 300 boot lines are the oldest of the log: a grep of the last N lines finds none of them."""
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs api --grep BOOT --tail 5", "U0VIEW", "C1", "slack"))
    lines = code_lines(result)
    assert [line.split("  ", 1)[1] for line in lines] == [f"boot line {n}" for n in range(296, 301)]
    summary = texts(result)
    assert "matched 300 of" in summary and "the whole log" in summary and "the last 5 are shown" in summary
    scanned = int(re.search(r"matched 300 of ([\d,]+) lines", summary).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert scanned > 300, "every line of the log was searched, not only the boot lines"


async def test_grep_tail_keeps_the_newest_matches(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    await asyncio.sleep(1.5)  # a webhook line every 0.6 s: let a few be written
    result = await runtime.dispatcher.dispatch(Invocation("logs api --grep webhook --tail 2", "U0VIEW", "C1", "slack"))
    numbers = [int(line.rsplit(" ", 1)[1]) for line in code_lines(result)]
    assert len(numbers) == 2 and numbers[0] < numbers[1] and numbers[1] - numbers[0] == 3
    matched = int(re.search(r"matched ([\d,]+) of", texts(result)).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert matched >= numbers[1] // 3, "every webhook line so far was counted (one per 3 requests)"


async def test_grep_within_since_window_searches_only_the_window(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    await asyncio.sleep(2.2)  # the boot lines were written at start: make them older than 1s
    recent = await runtime.dispatcher.dispatch(Invocation("logs api --grep boot --since 1s", "U0VIEW", "C1", "slack"))
    assert not code_lines(recent)
    assert "No line of" in texts(recent) and "the last 1s" in texts(recent) and "“boot”" in texts(recent)
    wide = await runtime.dispatcher.dispatch(Invocation("logs api --grep boot --since 2h", "U0VIEW", "C1", "slack"))
    assert "matched 300 of" in texts(wide)


async def test_a_log_larger_than_the_cap_is_searched_from_its_newest_part_and_says_so(
    make_runtime: RuntimeFactory, compose_project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 4_000
    monkeypatch.setattr(log_scan, "MAX_SCAN_CHARS", cap)
    runtime = await make_runtime(base_config(project=compose_project))
    whole = await runtime.dispatcher.dispatch(Invocation("logs api --tail 1", "U0VIEW", "C1", "slack"))
    newest = int(code_lines(whole)[-1].rsplit("/", 1)[1].split()[0]) if "GET" in code_lines(whole)[-1] else None
    result = await runtime.dispatcher.dispatch(Invocation("logs api --grep GET --tail 3", "U0VIEW", "C1", "slack"))
    note = texts(result)
    assert "The log is larger than" in note and "Narrow it with --since" in note
    searched = int(re.search(r"only its newest (\d+) lines", note).group(1))  # type: ignore[union-attr]
    assert 0 < searched <= cap // 20, "no more than the cap was read (a log line here is over 20 characters)"
    assert note.count("America/Santiago") == 1, "the time the search starts from is in the zone said once"
    orders = [int(line.split("/orders/")[1].split()[0]) for line in code_lines(result)]
    assert len(orders) == 3 and orders == sorted(orders)
    if newest is not None:
        assert orders[-1] >= newest, "the newest part of the log was searched, not the oldest"


async def test_a_log_line_shows_its_time_in_the_configured_zone(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs postgres", "U0VIEW", "C1", "slack"))
    proc = await asyncio.create_subprocess_exec(
        "docker", "logs", "--timestamps", f"{compose_project}-postgres-1", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    from datetime import datetime
    from zoneinfo import ZoneInfo

    stamp = out.decode().split()[0]
    moment = datetime.fromisoformat(stamp[:19] + "+00:00").astimezone(ZoneInfo("America/Santiago"))
    assert code_lines(result) == [f"{moment:%m-%d %H:%M:%S}  postgres ready"]
    summary = texts(result)
    assert summary.count("America/Santiago") == 1 and "Times in America/Santiago (UTC−03:00)" in summary


async def test_when_every_match_fits_the_answer_says_all_are_shown(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(
        Invocation("logs api --grep 'boot line 29' --tail 50", "U0VIEW", "C1", "slack")
    )
    # boot line 29 and 290..299: 11 matches, all of them within --tail 50
    assert [line.split("  ", 1)[1] for line in code_lines(result)] == [
        "boot line 29",
        *(f"boot line {n}" for n in range(290, 300)),
    ]
    assert "matched 11 of" in texts(result) and "all shown" in texts(result)


async def test_diagnose_counts_what_its_own_webhook_button_then_finds(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    """The runbook's webhook check and its button search the same 15 minutes: the button finds
    the count diagnose reported (plus the lines the api wrote in between, one per 0.6 s)."""
    runtime = await make_runtime(base_config(project=compose_project), redis_prefix=f"{redis_prefix}ans-diag:")
    await asyncio.sleep(1.5)
    diagnosed = await runtime.dispatcher.dispatch(Invocation("diagnose payments", "U0VIEW", "C1", "slack"))
    found = next(c for b in diagnosed.blocks if isinstance(b, Checks) for c in b.checks if "webhook" in c.name)
    count = int(found.detail.split()[0])
    button = next(
        b for bs in diagnosed.blocks if isinstance(bs, Buttons) for b in bs.buttons if "--grep webhook" in b.command
    )
    clicked = await runtime.dispatcher.dispatch(Invocation(button.command, "U0VIEW", "C1", "button"))
    matched = int(re.search(r"matched (\d+) of", texts(clicked)).group(1))  # type: ignore[union-attr]
    assert count >= 2 and count <= matched <= count + 3, (count, matched)
