"""Destructive steps: preview first, only the requester confirms, critical needs a second
admin, exactly once under concurrent clicks and across replicas, fail closed."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from confirm_flow import buttons, click, run_confirmed
from conftest import RuntimeFactory, base_config

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.core.registry import REGISTRY, NoArgs, operation, preview_for
from bot.output.results import Result, Text


def started_at(container: str) -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def config(project: str, redis_prefix: str = "", extra: str = "") -> str:
    return base_config(project=project, extra=extra)


@pytest.fixture
def prefix(redis_prefix: str, request: pytest.FixtureRequest) -> str:
    return f"{redis_prefix}{request.node.name[:40]}:"


async def bot(make_runtime: RuntimeFactory, project: str, prefix: str, extra: str = "", **settings: Any) -> Runtime:
    return await make_runtime(config(project, extra=extra), redis_prefix=prefix, **settings)


async def audit_decisions(runtime: Runtime, operation: str, since_id: int = 0) -> list[str]:
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT decision FROM audit_log WHERE operation = $1 AND id > $2 ORDER BY id", operation, since_id
        )
    return [r["decision"] for r in rows]


async def max_audit_id(runtime: Runtime) -> int:
    async with runtime.deps.db.connection() as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log"))


async def test_restart_preview_changes_nothing_and_offers_confirm(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    before = started_at(f"{compose_project}-redis-1")
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    assert preview.ok
    assert f"{compose_project}-redis-1" in str(preview.blocks)
    assert [b.label for b in buttons(preview)] == ["Confirm", "Cancel"]
    await asyncio.sleep(0.3)
    assert started_at(f"{compose_project}-redis-1") == before


async def test_confirm_restarts_once_and_a_second_click_does_not_restart_again(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    name = f"{compose_project}-redis-1"
    before = started_at(name)
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    done = await click(runtime, preview, "confirm", "U0OPER")
    assert done.ok and done.replace_original, done.summary
    after = started_at(name)
    assert after != before
    again = await click(runtime, preview, "confirm", "U0OPER")
    assert not again.ok and "already ran" in again.summary
    assert started_at(name) == after


async def test_ten_simultaneous_clicks_restart_once(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    start_id = await max_audit_id(runtime)
    preview = await runtime.dispatcher.dispatch(Invocation("restart postgres", "U0OPER", "C1", "slack"))
    results = await asyncio.gather(*(click(runtime, preview, "confirm", "U0OPER") for _ in range(10)))
    assert sum(1 for r in results if r.ok) == 1
    assert all("will not run twice" in r.summary for r in results if not r.ok)
    assert (await audit_decisions(runtime, "restart", start_id)).count("executed") == 1


async def test_clicks_reaching_two_replicas_run_once(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    first = await bot(make_runtime, compose_project, prefix)
    second = await bot(make_runtime, compose_project, prefix)
    start_id = await max_audit_id(first)
    preview = await first.dispatcher.dispatch(Invocation("restart postgres", "U0OPER", "C1", "slack"))
    results = await asyncio.gather(*(click(replica, preview, "confirm", "U0OPER") for replica in [first, second] * 4))
    assert sum(1 for r in results if r.ok) == 1
    assert (await audit_decisions(first, "restart", start_id)).count("executed") == 1


async def test_someone_else_cannot_confirm(make_runtime: RuntimeFactory, compose_project: str, prefix: str) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    before = started_at(f"{compose_project}-redis-1")
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    other_admin = await click(runtime, preview, "confirm", "U0ADMIN")
    viewer = await click(runtime, preview, "confirm", "U0VIEW")
    assert "Only U0OPER" in other_admin.summary
    assert "needs the *operator* role" in viewer.summary
    assert started_at(f"{compose_project}-redis-1") == before


async def test_role_is_checked_again_at_click_time(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    operators = {"U0MAYBE"}

    async def members(group: str) -> set[str]:
        return set(operators) if group == "S0OPS" else set()

    cfg = base_config(project=compose_project, roles={"viewer": ["*"], "operator": ["S0OPS"], "admin": []})
    runtime = await make_runtime(cfg, group_members=members, redis_prefix=prefix)
    runtime.deps.roles._ttl = 0  # see group changes at once
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0MAYBE", "C1", "slack"))
    assert buttons(preview)
    operators.clear()
    refused = await click(runtime, preview, "confirm", "U0MAYBE")
    assert not refused.ok and "needs the *operator* role" in refused.summary


async def test_cancel_then_confirm_runs_nothing(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    before = started_at(f"{compose_project}-redis-1")
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    cancelled = await click(runtime, preview, "cancel", "U0OPER")
    assert cancelled.ok and "Nothing was run" in cancelled.summary
    late = await click(runtime, preview, "confirm", "U0OPER")
    assert not late.ok and "cancelled" in late.summary
    assert started_at(f"{compose_project}-redis-1") == before


async def test_expired_confirmation_runs_nothing(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix, extra="confirm_ttl: 1s\n")
    before = started_at(f"{compose_project}-redis-1")
    preview = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    await asyncio.sleep(1.5)
    late = await click(runtime, preview, "confirm", "U0OPER")
    assert not late.ok and "expired" in late.summary
    assert started_at(f"{compose_project}-redis-1") == before


async def test_bot_redis_down_refuses_destructive_but_not_read_only(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix, redis_url="redis://127.0.0.1:1/0")
    refused = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    assert not refused.ok and "Redis" in refused.summary and "refused" in refused.summary
    assert not buttons(refused)
    assert (await runtime.dispatcher.dispatch(Invocation("ps", "U0OPER", "C1", "slack"))).ok


async def test_audit_database_down_refuses_destructive(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(
        make_runtime, compose_project, prefix, migrate=False, database_url="postgresql://postgres@127.0.0.1:1/x"
    )
    refused = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0OPER", "C1", "slack"))
    assert not refused.ok and "audit database" in refused.summary
    assert (await runtime.dispatcher.dispatch(Invocation("ps", "U0OPER", "C1", "slack"))).ok


async def test_stop_then_start_through_the_same_mechanism(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    stopped = await run_confirmed(runtime, "stop redis", "U0OPER")
    assert stopped.ok, stopped.summary
    ps = await runtime.dispatcher.dispatch(Invocation("ps redis", "U0OPER", "C1", "slack"))
    assert "exited" in str(ps.blocks)
    started = await runtime.dispatcher.dispatch(Invocation("start redis", "U0OPER", "C1", "slack"))
    assert started.ok, started.summary
    up = await runtime.dispatcher.dispatch(Invocation("up", "U0OPER", "C1", "slack"))
    assert up.ok and "already running" in str(up.blocks)


RAN: list[str] = []


@pytest.fixture
def critical_op() -> Iterator[str]:
    """A critical operation that only records that it ran (removed after the test)."""

    @operation("test critical", NoArgs, role="admin", destructive="critical")
    async def critical(ctx: Any, args: NoArgs) -> Result:
        """Test only."""
        RAN.append(ctx.user_id)
        return Result(title="ran", blocks=[Text("ran")], summary="ran")

    @preview_for("test critical")
    async def critical_preview(ctx: Any, args: NoArgs) -> Result:
        return Result(title="would run", blocks=[Text("would run")])

    RAN.clear()
    yield "test critical"
    del REGISTRY.operations["test critical"]


async def test_critical_step_needs_a_second_admin(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str, critical_op: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    preview = await runtime.dispatcher.dispatch(Invocation(critical_op, "U0ADMIN", "C1", "slack"))
    awaiting = await click(runtime, preview, "confirm", "U0ADMIN")
    assert awaiting.ok and "Waiting for another admin" in awaiting.summary and RAN == []
    self_approval = await click(runtime, awaiting, "approve", "U0ADMIN")
    operator_approval = await click(runtime, awaiting, "approve", "U0OPER")
    assert "someone else must approve" in self_approval.summary
    assert "needs the *admin* role" in operator_approval.summary
    assert RAN == []
    approved = await click(runtime, awaiting, "approve", "U0ADMIN2")
    assert approved.ok and RAN == ["U0ADMIN2"]
    assert "U0ADMIN2" in json.dumps(str(approved.blocks))
    twice = await click(runtime, awaiting, "approve", "U0ADMIN2")
    assert not twice.ok and RAN == ["U0ADMIN2"]


async def test_every_transition_is_an_audit_row(
    make_runtime: RuntimeFactory, compose_project: str, prefix: str, critical_op: str
) -> None:
    runtime = await bot(make_runtime, compose_project, prefix)
    start_id = await max_audit_id(runtime)
    await run_confirmed(runtime, critical_op, "U0ADMIN", approver="U0ADMIN2")
    assert await audit_decisions(runtime, critical_op, start_id) == [
        "requested",
        "pending",
        "confirmed",
        "approved",
        "executed",
    ]
