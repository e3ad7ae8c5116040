"""A scheduled job's result reaches the incident channel even when Slack is down at that
moment: the notice is a durable step that the escalation worker retries (issue 17.9)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import RuntimeFactory, base_config
from slack_emulator import Call, SlackEmulator

from bot.core.context import OpContext
from bot.incidents.notify import SlackNotifier, slack_client_for_notices
from bot.jobs.scheduler import ScheduledJob, Scheduler, notify_via
from bot.output.results import Result, Text

pytestmark = pytest.mark.timeout(60)

SLOT = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)  # 02:00 in Santiago
SECRET = "s3cr3t-pg-password"


class FixedClock:
    def now(self) -> datetime:
        return SLOT

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def failing_backup(ctx: OpContext) -> Result:
    text = f"pg_dump: connection to postgresql://backup:{SECRET}@db/pedidos refused"
    return Result(title="Backup", blocks=[Text(text)], ok=False, summary=text)


JOB = ScheduledJob("db backup", lambda config: "0 2 * * *", failing_backup)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def to_incident_channel(call: Call) -> bool:
    return call.args.get("channel") == "C0INCIDENTS"


async def test_a_failed_backup_alert_waits_out_a_slack_outage_and_arrives_once(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(base_config(), database_url=fresh_db_url, notifier=notifier)
    assert runtime.scheduler is not None and runtime.deps.escalation is not None
    runtime.deps.escalation.poll = 0.1
    emu.fail("chat.postMessage", times=2, status=500)  # Slack is down when the job ends
    scheduler = Scheduler(runtime.deps, jobs={JOB.name: JOB}, clock=FixedClock(), notify=runtime.scheduler.notify)

    result = await scheduler.fire(JOB, SLOT)

    assert result is not None and not result.ok
    calls = await emu.wait_for("chat.postMessage", count=3, timeout=20, predicate=to_incident_channel)
    await asyncio.sleep(0.5)  # a fourth post would be a duplicate
    assert len(emu.calls("chat.postMessage")) == 3, "two refused by Slack, then the one that landed"
    delivered = calls[-1]
    assert "FAILED" in str(delivered.args["text"]) and "db backup" in str(delivered.args["text"])
    assert "pg_dump" in str(delivered.args["text"]) and SECRET not in str(delivered.args)
    async with runtime.deps.db.connection() as conn:
        [step] = await conn.fetch(
            "SELECT kind, incident_id, state, attempts, due_at, fired_at, last_error, payload FROM escalation_steps"
        )
    assert (step["kind"], step["incident_id"], step["state"], step["attempts"]) == ("note", None, "done", 3)
    assert step["fired_at"] >= step["due_at"] and "internal_error" in step["last_error"]
    assert json.loads(step["payload"])["job"] == "db backup"


async def test_the_queued_notice_is_redacted_and_not_posted_directly(
    fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await make_runtime(base_config(), database_url=fresh_db_url)  # no worker: the step stays queued

    class Direct:
        async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str:
            raise AssertionError("posted directly although the database could queue the notice")

    notify = notify_via(Direct(), runtime.deps)  # type: ignore[arg-type]
    scheduler = Scheduler(runtime.deps, jobs={JOB.name: JOB}, clock=FixedClock(), notify=notify)
    await scheduler.fire(JOB, SLOT + timedelta(days=1))
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch("SELECT incident_id, state, payload FROM escalation_steps")
    assert [(r["incident_id"], r["state"]) for r in rows] == [(None, "pending")]
    payload = json.loads(rows[0]["payload"])
    assert payload["alert"] is True and "FAILED" in payload["text"] and SECRET not in payload["text"]
