"""`queue retry` reports what became of the retried jobs, against a real Bull queue and Bull Board.

The board's "retried 5" only means the jobs went back to `waiting`; these tests make the
jobs complete, fail again, or hang in `active`, and check the verdict, the counts and the
audit row say so.
"""

from __future__ import annotations

import json
import time
from typing import Any

from confirm_flow import run_confirmed
from conftest import RuntimeFactory
from test_queues import Board, board, bot, table, text_of

from bot.app.runtime import Runtime
from bot.output.terminal import render_text
from handlers.queue_checks import SETTLE_SECONDS

__all__ = ["board"]  # the fixture, shared with tests/test_queues.py


async def executed_row(runtime: Runtime) -> tuple[str, dict[str, Any]]:
    async with runtime.deps.db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT outcome, verification FROM audit_log WHERE operation = 'queue retry'"
            " AND decision = 'executed' ORDER BY id DESC LIMIT 1"
        )
    assert row is not None and row["verification"] is not None
    value = row["verification"]
    return row["outcome"], json.loads(value) if isinstance(value, str) else value


async def test_retry_whose_jobs_fail_again_is_not_verified(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 5, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 5)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")  # the cause is not fixed
    verification = result.verification
    assert verification is not None and not verification.verified and not result.ok, text_of(result)
    completed, again = verification.checks
    assert completed.state == "fail" and completed.detail == "0 of 5 completed"
    assert again.state == "fail" and again.detail == "5 of 5 failed again (most often: card declined ×5)"
    effect = {row[0]: row[1:] for row in table(result).rows}
    assert effect["FAILED"] == ["5", "5"]
    assert "❌ not verified" in render_text(result).text
    outcome, recorded = await executed_row(runtime)
    assert outcome == "failed" and recorded["verified"] is False
    assert "5 of 5 failed again" in recorded["checks"][1]["detail"]


async def test_retry_whose_jobs_complete_is_verified(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 4, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 4)
    await board.set_failing(False)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")
    verification = result.verification
    assert verification is not None and verification.verified and result.ok, text_of(result)
    assert [c.detail for c in verification.checks] == ["4 of 4 completed", "none"]
    outcome, recorded = await executed_row(runtime)
    assert outcome == "ok" and recorded["verified"] is True


async def test_retry_of_one_job_follows_only_that_job(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    first, second = await board.add_jobs("payments", 2, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 2)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, f"queue retry payments {second}", "U0OPER")
    verification = result.verification
    assert verification is not None and not verification.verified
    assert [c.detail for c in verification.checks][1] == "1 of 1 failed again (most often: card declined ×1)"
    counts = await board.counts()
    assert counts["failed"] == 2  # the other job was never retried, and the retried one failed again
    attempts = {}
    for job in (first, second):
        async with board.session.get(f"{board.url}/api/queues/payments/{job}") as answer:
            attempts[job] = (await answer.json())["job"]["attempts"]
    assert attempts[second] == attempts[first] + 1, attempts  # only the named job ran again


async def test_jobs_not_run_within_the_bound_are_reported_as_not_finished(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    """A paused queue keeps the retried jobs waiting: the retry says "not finished", never ✅."""
    await board.add_jobs("payments", 3, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 3)
    async with board.session.put(f"{board.url}/api/queues/payments/pause") as response:
        assert response.status < 300, await response.text()
    runtime = await bot(make_runtime, redis_prefix, board.url)
    started = time.monotonic()
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")
    waited = time.monotonic() - started
    verification = result.verification
    assert verification is not None and not verification.verified, text_of(result)
    pending = verification.checks[-1]
    assert pending.state == "timeout" and pending.detail == "3 not finished after 5 s", pending
    assert verification.checks[0].detail == "0 of 3 completed"
    assert waited >= SETTLE_SECONDS, "it waited its whole bound before saying so"
    assert "still" in text_of(result)  # the existing "look again with /ops queue payments" hint
