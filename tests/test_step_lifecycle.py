"""A confirmed step's life on real parts: it runs under its own operation's timeout whatever
the click's, Slack's edits never hold it back, its outcome is reported as it happened even
when its record or its audit cannot be written, a failed audit write undoes the move it
records, and a Confirm is only taken in the channel the step was asked in."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from confirm_flow import button_command, click, run_confirmed
from conftest import RuntimeFactory
from parts import PostgresPart, RedisPart
from slack_emulator import SlackEmulator
from test_steps import everything, makefile, steps_config

from bot.app.runtime import Runtime
from bot.config.settings import Settings
from bot.core.dispatcher import Invocation
from bot.core.registry import REGISTRY, NoArgs, operation
from bot.output.results import Result, Text
from bot.slack.app import build_slack_app, web_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def prefix(redis_prefix: str, request: pytest.FixtureRequest) -> str:
    return f"{redis_prefix}{request.node.name[:40]}:"


@pytest.fixture
def short_click_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """The click operations' own timeout made 1 s (it is 60 s), so a 3 s step outlives it."""
    for name in ("confirm", "approve"):
        op = REGISTRY.get(name)
        assert op is not None
        monkeypatch.setattr(op, "timeout", 1.0)
    yield 1.0


def migrate_config(project: str, workdir: Path, recipe: str, extra: str = "") -> str:
    makefile(workdir, {"migrate": recipe})
    return steps_config(project, f"    migrate: {{cwd: {workdir}, run: make -s migrate, timeout: 60s}}\n", extra=extra)


def action_id(result: Any, verb: str = "confirm") -> str:
    return button_command(result, verb).split()[-1]


async def record(runtime: Runtime, action: str) -> dict[str, Any]:
    raw = await runtime.deps.redis.get(runtime.deps.confirmations.key(action))
    assert raw is not None
    return dict(json.loads(raw))


async def executed_rows(runtime: Runtime, action: str) -> list[tuple[str, str]]:
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT decision, outcome FROM audit_log WHERE arguments->>'confirmation' = $1 ORDER BY id", action
        )
    return [(r["decision"], r["outcome"]) for r in rows]


# ---- 11.2: the step's own timeout governs ------------------------------------------------------


async def test_a_confirmed_step_outlives_the_click_operations_timeout(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str, short_click_timeout: float
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "sleep 3\ntouch migrated"), redis_prefix=prefix
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = action_id(preview)
    done = await click(runtime, preview, "confirm", "U0OPER")
    assert done.ok, done.summary
    assert (tmp_path / "migrated").exists(), "the program was cut before its end"
    assert (await record(runtime, action))["state"] == "done"
    assert ("executed", "ok") in await executed_rows(runtime, action)


@pytest.fixture
def slow_critical_op() -> Iterator[str]:
    """A critical operation (as `deploy rollback`, `db restore`) that takes 3 s; removed after the test."""

    @operation("test slow critical", NoArgs, role="admin", destructive="critical", timeout=60)
    async def slow(ctx: Any, args: NoArgs) -> Result:
        """Test only."""
        await asyncio.sleep(3)
        return Result(title="ran", blocks=[Text("ran to its end")], summary="ran to its end")

    yield "test slow critical"
    del REGISTRY.operations["test slow critical"]


async def test_an_approved_step_outlives_the_approve_operations_timeout(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str, short_click_timeout: float, slow_critical_op: str
) -> None:
    runtime = await make_runtime(steps_config(compose_project, ""), redis_prefix=prefix)
    approved = await run_confirmed(runtime, slow_critical_op, "U0ADMIN", approver="U0ADMIN2")
    assert approved.ok and "ran to its end" in approved.summary, approved.summary


async def test_a_rate_limited_slack_edit_does_not_hold_the_step_back(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str
) -> None:
    """The first edit of the clicked message ("⏳ running") gets a 429 with Retry-After 5 s; the
    step must run and be recorded before that edit's retry reaches Slack."""
    runtime = await make_runtime(migrate_config(compose_project, tmp_path, "touch migrated"), redis_prefix=prefix)
    async with SlackEmulator() as emu:
        settings = Settings(slack_bot_token="xoxb-test-token-123", slack_signing_secret="s", slack_api_url=emu.api_url)
        slack = build_slack_app(settings, runtime.dispatcher, web_client(settings))
        preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
        action = action_id(preview)
        emu.fail("chat.update", times=1, status=429, retry_after=5)

        async def respond(**_: Any) -> None:
            return None

        clicked = Invocation(button_command(preview, "confirm"), "U0OPER", "C1", "button")
        await slack.work(clicked, respond, message_ts="1700000000.000901")
        async with runtime.deps.db.connection() as conn:
            executed_at = await conn.fetchval(
                "SELECT at FROM audit_log WHERE decision = 'executed' AND arguments->>'confirmation' = $1", action
            )
        edits = emu.calls("chat.update")
        assert len(edits) >= 2, "the rate-limited edit was retried (or the final answer sent)"
        assert executed_at is not None and (await record(runtime, action))["state"] == "done"
        assert executed_at.timestamp() < edits[1].at, "the step waited for Slack's Retry-After"
        assert (tmp_path / "migrated").exists()
        assert "done" in str(emu.calls("chat.update")[-1].args["blocks"])


# ---- 11.10: a confirmation belongs to its channel --------------------------------------------


async def test_a_confirm_from_another_channel_is_refused(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str
) -> None:
    runtime = await make_runtime(migrate_config(compose_project, tmp_path, "touch migrated"), redis_prefix=prefix)
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C0ASKED", "slack"))
    action = action_id(preview)
    elsewhere = await click(runtime, preview, "confirm", "U0OPER", channel="C0OTHER")
    typed = await runtime.dispatcher.dispatch(Invocation(f"confirm {action}", "U0OPER", "C0OTHER", "slack"))
    for refused in (elsewhere, typed):
        assert not refused.ok and "C0ASKED" in refused.summary, refused.summary
    assert not (tmp_path / "migrated").exists()
    assert (await record(runtime, action))["state"] == "pending"
    done = await click(runtime, preview, "confirm", "U0OPER", channel="C0ASKED")
    assert done.ok and (tmp_path / "migrated").exists()


# ---- 11.7: a step that ran is reported as it ran --------------------------------------------


@pytest.fixture
def bot_redis() -> Iterator[RedisPart]:
    part = RedisPart()
    yield part
    part.stop()


@pytest.fixture
def bot_postgres() -> Iterator[PostgresPart]:
    part = PostgresPart()
    yield part
    part.close()


async def wait_for_file(path: Path, within: float = 30.0) -> None:
    for _ in range(int(within / 0.02)):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path.name} never appeared")


async def test_bot_redis_lost_mid_step_reports_the_real_outcome(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str, bot_redis: RedisPart
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "touch started\nsleep 2\ntouch migrated"),
        redis_prefix=prefix,
        redis_url=bot_redis.url,
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = action_id(preview)
    clicked = asyncio.create_task(click(runtime, preview, "confirm", "U0OPER"))
    await wait_for_file(tmp_path / "started")
    bot_redis.stop()
    done = await clicked
    shown = everything(done)
    assert (tmp_path / "migrated").exists()
    assert done.ok and "✅ done" in shown and "Something went wrong" not in shown, shown
    assert "record in the bot's Redis could not be updated" in shown
    assert ("executed", "ok") in await executed_rows(runtime, action)


# ---- 17.3: a move whose audit row cannot be written is undone ----------------------------------


async def set_read_only(part: PostgresPart, on: bool) -> None:
    conn = await asyncpg.connect(part.url(), timeout=5)
    try:
        if on:
            await conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            await conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def test_a_read_only_audit_database_at_click_time_leaves_the_step_confirmable(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str, bot_postgres: PostgresPart
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "touch migrated"),
        redis_prefix=prefix,
        database_url=bot_postgres.url(),
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = action_id(preview)
    await set_read_only(bot_postgres, True)
    refused = await click(runtime, preview, "confirm", "U0OPER")
    assert not refused.ok and "did NOT run" in refused.summary and "read-only" in refused.summary, refused.summary
    assert not (tmp_path / "migrated").exists()
    assert (await record(runtime, action))["state"] == "pending"
    await set_read_only(bot_postgres, False)
    again = await click(runtime, preview, "confirm", "U0OPER")
    assert again.ok, again.summary
    assert (tmp_path / "migrated").exists()
    assert [d for d, _ in await executed_rows(runtime, action)] == ["requested", "confirmed", "executed"]


# ---- 17.10: no audit gap when the bot's Postgres stops mid-step --------------------------------


async def executed_rows_at(url: str, action: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT decision, outcome FROM audit_log WHERE arguments->>'confirmation' = $1 ORDER BY id", action
        )
    finally:
        await conn.close()
    return [(r["decision"], r["outcome"]) for r in rows]


async def test_bot_postgres_stopped_mid_step_says_so_and_writes_the_row_once_back(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, prefix: str, bot_postgres: PostgresPart
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "touch started\nsleep 2\ntouch migrated"),
        redis_prefix=prefix,
        database_url=bot_postgres.url(),
        step_lease_seconds=2,  # the sweep that writes kept rows runs every second
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = action_id(preview)
    clicked = asyncio.create_task(click(runtime, preview, "confirm", "U0OPER"))
    await wait_for_file(tmp_path / "started")
    bot_postgres.stop()
    done = await clicked
    shown = everything(done)
    assert done.ok and "✅ done" in shown, shown
    assert "audit log could not be written" in shown and "will be written" in shown, shown
    bot_postgres.start()
    for _ in range(600):
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            if ("executed", "ok") in await executed_rows_at(bot_postgres.url(), action):
                break
        await asyncio.sleep(0.05)
    rows = await executed_rows_at(bot_postgres.url(), action)
    assert rows.count(("executed", "ok")) == 1, rows
