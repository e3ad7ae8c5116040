"""A huge log cannot hang the bot: `logs --grep` over a ~25 MB container log is bounded in
memory (only the last N matches are held) and in bytes read (the cap), and says when capped.
A real busybox container writes the log; the figures printed are the measurement."""

from __future__ import annotations

import subprocess
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from conftest import BUSYBOX, RuntimeFactory, base_config

from bot.core.dispatcher import Invocation
from bot.output.results import Code, Result, Text
from bot.targets import log_scan

LINES = 300_000
"""~25 MB of log: 300,000 lines of about 85 characters with the engine's time stamp, every 100th a match."""


@pytest.fixture(scope="module")
def big_log(run_id: str) -> Iterator[str]:
    project = f"biglog{run_id}"
    name = f"{project}-api-1"
    script = (
        f'seq 1 {LINES} | awk \'{{ if ($1 % 100 == 0) print "webhook received payment " $1; '
        f'else print "GET /orders/" $1 " 200 ok padding padding padding pad" }}\'; sleep 3600'
    )
    labels = ["--label", f"com.docker.compose.project={project}", "--label", "com.docker.compose.service=api"]
    subprocess.run(
        ["docker", "run", "-d", "--network", "none", "--name", name, *labels, BUSYBOX, "sh", "-c", script],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the last line is in the log
            tail = subprocess.run(["docker", "logs", "--tail", "1", name], capture_output=True, text=True, timeout=30)
            if f"payment {LINES}" in tail.stdout:
                break
            time.sleep(0.5)
        yield project
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


def code_lines(result: Result) -> list[str]:
    return [line for b in result.blocks if isinstance(b, Code) for line in b.text.splitlines()]


async def test_the_whole_big_log_is_searched_in_bounded_memory(make_runtime: RuntimeFactory, big_log: str) -> None:
    runtime = await make_runtime(base_config(project=big_log))
    ask = Invocation("logs api --grep webhook --tail 5", "U0VIEW", "C1", "slack")
    started = time.perf_counter()
    await runtime.dispatcher.dispatch(ask)
    took = time.perf_counter() - started
    tracemalloc.start()  # a second run for the memory: tracemalloc slows every allocation
    result = await runtime.dispatcher.dispatch(ask)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"figure: searched {LINES:,} lines (~25 MB) in {took:.2f}s, peak Python memory {peak / 1e6:.1f} MB")
    assert f"matched {LINES // 100:,} of {LINES:,} lines" in texts(result), texts(result)
    assert [line.split("  ", 1)[1] for line in code_lines(result)] == [
        f"webhook received payment {n}" for n in range(LINES - 400, LINES + 1, 100)
    ]
    assert peak < 16e6, f"the log (~25 MB) was held in memory: peak {peak / 1e6:.1f} MB"


async def test_a_log_over_the_cap_is_searched_from_its_newest_part(
    make_runtime: RuntimeFactory, big_log: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_scan, "MAX_SCAN_CHARS", 2 * 1024 * 1024)
    runtime = await make_runtime(base_config(project=big_log))
    started = time.perf_counter()
    result = await runtime.dispatcher.dispatch(Invocation("logs api --grep webhook --tail 3", "U0VIEW", "C1", "slack"))
    took = time.perf_counter() - started
    print(f"figure: capped at 2 MB, answered in {took:.2f}s")
    note = texts(result)
    assert "The log is larger than 2 MB: only its newest" in note, note
    assert [line.split("  ", 1)[1] for line in code_lines(result)] == [
        f"webhook received payment {n}" for n in (LINES - 200, LINES - 100, LINES)
    ], "the newest matches, not the first ones within the cap"
    searched = int(note.split("only its newest ")[1].split()[0].replace(",", ""))
    assert searched * 40 < 2 * 1024 * 1024 * 1.1, "no more than about the cap was searched"
