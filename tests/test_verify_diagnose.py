"""After a diagnose remedy ran, the section runs again and says whether each bad finding is gone.

Real parts: the test's own busybox containers (a stopped api, one that crashes again at
once), a real /health HTTP server, the bot's real Redis for the remembered findings and
the real confirmation flow for the remedy button.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from confirm_flow import buttons, click
from conftest import RuntimeFactory, base_config
from targets import HttpTarget, delayed, start_http_target
from test_queues import Board, board
from test_queues import bot as queue_bot
from test_verify_containers import GRACEFUL, Stack, _docker, stack

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Button, Result, Verification
from bot.output.terminal import render_text

__all__ = ["board", "stack"]  # fixtures of tests/test_queues.py and tests/test_verify_containers.py


@pytest.fixture
async def health_api() -> AsyncIterator[HttpTarget]:
    target = await start_http_target({"/health": delayed(0)})
    yield target
    await target.close()


async def bot(make_runtime: RuntimeFactory, stack: Stack, api: HttpTarget, redis_prefix: str, name: str) -> Runtime:
    return await make_runtime(
        base_config(project=stack.project, api_url=api.url), redis_prefix=f"{redis_prefix}{name}:"
    )


def remedy(result: Result, command: str) -> Button:
    return next(b for b in buttons(result) if b.command == command)


async def press(runtime: Runtime, button: Button) -> Result:
    """Click a remedy button, then Confirm on its confirmation, as one person would."""
    preview = await runtime.dispatcher.dispatch(Invocation(button.command, "U0OPER", "C1", "button"))
    return await click(runtime, preview, "confirm", "U0OPER")


def verification_of(result: Result) -> Verification:
    found = result.verification
    assert found is not None, render_text(result).text
    return found


async def test_restart_from_diagnose_says_the_stopped_container_finding_is_gone(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    api = stack.add("api", GRACEFUL)
    _docker("stop", "-t", "1", api)
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "gone")
    found = await runtime.dispatcher.dispatch(Invocation("diagnose api", "U0OPER", "C1", "slack"))
    assert not found.ok and "api container" in found.summary, found.summary
    done = await press(runtime, remedy(found, "/ops restart api"))
    verification = verification_of(done)
    names = [c.name for c in verification.checks]
    assert names[0] == f"{api} running again", names  # the restart's own check comes first
    recheck = next(c for c in verification.checks if c.name == "diagnose api: api container")
    assert recheck.state == "ok" and recheck.detail.startswith("gone (was fail:"), recheck
    assert f"now: {api} is up" in recheck.detail
    assert verification.verified and done.ok, render_text(done).text
    async with runtime.deps.db.connection() as conn:
        raw = await conn.fetchval(
            "SELECT verification FROM audit_log WHERE operation = 'restart' AND decision = 'executed'"
            " ORDER BY id DESC LIMIT 1"
        )
    recorded = json.loads(raw) if isinstance(raw, str) else raw
    assert any(c["name"] == "diagnose api: api container" and c["state"] == "ok" for c in recorded["checks"])


async def test_a_remedy_that_does_not_help_says_the_finding_is_still_there(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    api = stack.add("api", "sleep 0.3; exit 3")
    for _ in range(100):  # it crashes a moment after it starts
        if not stack.state(api)["Running"]:
            break
        await asyncio.sleep(0.05)
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "still")
    found = await runtime.dispatcher.dispatch(Invocation("diagnose api", "U0OPER", "C1", "slack"))
    assert not found.ok
    done = await press(runtime, remedy(found, "/ops restart api"))
    verification = verification_of(done)
    recheck = next(c for c in verification.checks if c.name == "diagnose api: api container")
    assert recheck.state == "fail" and recheck.detail.startswith("still fail:") and "exited (3)" in recheck.detail
    assert not verification.verified
    assert "diagnose api: api container" in render_text(done).text


async def test_the_recheck_runs_once_and_only_after_a_diagnose(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    api = stack.add("api", GRACEFUL)
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "once")
    plain = await press(runtime, Button("Restart", "/ops restart api"))
    assert all(not c.name.startswith("diagnose ") for c in verification_of(plain).checks), "no diagnose before"
    _docker("stop", "-t", "1", api)
    found = await runtime.dispatcher.dispatch(Invocation("diagnose api", "U0OPER", "C1", "slack"))
    first = await press(runtime, remedy(found, "/ops restart api"))
    assert any(c.name.startswith("diagnose api") for c in verification_of(first).checks)
    second = await press(runtime, remedy(found, "/ops restart api"))
    assert all(not c.name.startswith("diagnose ") for c in verification_of(second).checks), "one re-check per diagnose"


async def test_an_all_ok_diagnose_or_a_look_button_parks_nothing(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    stack.add("api", GRACEFUL)
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "ok")
    found = await runtime.dispatcher.dispatch(Invocation("diagnose api", "U0OPER", "C1", "slack"))
    assert found.ok, found.summary
    keys = [k async for k in runtime.deps.redis.scan_iter(match=f"{redis_prefix}ok:diagnosis:remedy:*")]
    assert keys == []
    done = await press(runtime, remedy(found, "/ops restart api"))
    assert all(not c.name.startswith("diagnose ") for c in verification_of(done).checks)


async def test_queue_retry_from_diagnose_payments_says_whether_the_failed_jobs_are_gone(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    """The payments section's remedy against a real Bull queue: fixed cause → gone; not fixed → still."""
    await board.add_jobs("payments", 12, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 12)
    runtime = await queue_bot(make_runtime, redis_prefix, board.url)
    name = "diagnose payments: failed jobs in payments"

    found = await runtime.dispatcher.dispatch(Invocation("diagnose payments", "U0OPER", "C1", "slack"))
    assert "failed jobs in payments" in found.summary, found.summary
    still = await press(runtime, remedy(found, "/ops queue retry payments all"))
    recheck = next(c for c in verification_of(still).checks if c.name == name)
    assert recheck.state == "fail" and recheck.detail.startswith("still fail: 12 failed"), recheck

    await board.set_failing(False)  # the cause is fixed; the same remedy from a new diagnose
    found = await runtime.dispatcher.dispatch(Invocation("diagnose payments", "U0OPER", "C1", "slack"))
    gone = await press(runtime, remedy(found, "/ops queue retry payments all"))
    recheck = next(c for c in verification_of(gone).checks if c.name == name)
    assert recheck.state == "ok" and recheck.detail.startswith("gone (was fail: 12 failed"), recheck
