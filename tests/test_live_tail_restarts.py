"""A live tail follows its service across a restart until its time is up (issue 24, item 3).

Real parts: the test's own busybox container, restarted with `docker restart` (and stopped)
while `/ops logs api --follow` runs in the terminal adapter, in-process.
"""

from __future__ import annotations

import asyncio
import io

from conftest import RuntimeFactory, base_config
from test_verify_containers import Stack, _docker, stack

from bot.output.results import Result
from bot.terminal.shell import Shell

__all__ = ["stack"]  # fixture

OPERATOR = "U0OPER"
COUNTS_ITS_STARTS = (
    "trap 'exit 0' TERM; n=$(cat /tmp/starts 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/starts; "
    'echo "boot $n"; while :; do echo "tick of start $n"; sleep 0.2; done'
)


async def tail_started(
    make_runtime: RuntimeFactory, stack: Stack, prefix: str, duration: str
) -> tuple[asyncio.Task[Result], io.StringIO]:
    """`/ops logs api --follow <duration>` in the terminal adapter, once its first lines came."""
    runtime = await make_runtime(base_config(project=stack.project), redis_prefix=prefix)
    out = io.StringIO()
    tail = asyncio.create_task(Shell(runtime, OPERATOR, out=out).run_one(f"/ops logs api --follow {duration}"))
    for _ in range(100):
        if "tick of start 1" in out.getvalue():
            break
        await asyncio.sleep(0.1)
    return tail, out


async def test_the_tail_follows_the_restarted_container_and_says_so(
    make_runtime: RuntimeFactory, stack: Stack, redis_prefix: str
) -> None:
    name = stack.add("api", COUNTS_ITS_STARTS)
    tail, out = await tail_started(make_runtime, stack, f"{redis_prefix}restarts:", "9s")
    await asyncio.to_thread(_docker, "restart", "-t", "1", name)
    result = await tail
    printed = out.getvalue()
    assert f"api restarted: container {name} started again at" in printed, printed
    assert "boot 2" in printed and "tick of start 2" in printed, printed[printed.find("restarted") - 300 :]
    assert printed.index("tick of start 1") < printed.index("api restarted") < printed.index("tick of start 2")
    assert result.ok and "its time was up" in result.summary, result.summary
    assert "it exited" not in printed


async def test_a_container_that_does_not_come_back_is_waited_for_and_said(
    make_runtime: RuntimeFactory, stack: Stack, redis_prefix: str
) -> None:
    name = stack.add("api", COUNTS_ITS_STARTS)
    tail, out = await tail_started(make_runtime, stack, f"{redis_prefix}stopped:", "5s")
    await asyncio.to_thread(_docker, "stop", "-t", "1", name)
    result = await tail
    printed = out.getvalue()
    assert f"api: container {name} stopped; the tail waits for it to start again" in printed, printed
    assert "had not started again" in result.summary, result.summary
