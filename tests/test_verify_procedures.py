"""db migrate / migrate-rollback / restore / deploy rollback end with their own output and the health now.

Real parts: the configured steps run in the stack's busybox containers or from a real
Makefile in a real git repository, the restore goes into a real Postgres, and the API's
/health is a real HTTP server that can start failing after a number of requests, to show
that the verification reads the health after the procedure, not the procedure's own check.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from confirm_flow import run_confirmed
from conftest import RuntimeFactory
from targets import HttpTarget, start_http_target
from test_database import Stack, own_db, stack, tenant_ids
from test_deploy import Repo, bot, prefix, repo
from test_steps import PASSWORD, attachment, steps_config

from bot.app.runtime import Runtime
from bot.output.results import Attachment, Code, Result, Text, Verification
from bot.output.terminal import render_text
from bot.procedures.backups import BackupStore

__all__ = ["own_db", "prefix", "repo", "stack"]  # fixtures shared with tests/test_database.py, test_deploy.py


@dataclass
class Health:
    """The API's /health: healthy for the first `passes` requests (None = always), then 500."""

    passes: int | None = None
    requests: int = 0

    async def handler(self, _: web.Request) -> web.Response:
        self.requests += 1
        if self.passes is None or self.requests <= self.passes:
            return web.Response(text="ok")
        return web.Response(status=500, text="db pool exhausted")


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
async def health_api(health: Health) -> AsyncIterator[HttpTarget]:
    """Overrides test_database's always-healthy /health for the `stack` fixture."""
    target = await start_http_target({"/health": health.handler})
    yield target
    await target.close()


def verification_of(result: Result) -> Verification:
    found = result.verification
    assert found is not None, render_text(result).text
    return found


def codes(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Code))


async def executed(runtime: Runtime, operation: str) -> tuple[str, dict[str, Any]]:
    async with runtime.deps.db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT outcome, verification FROM audit_log WHERE operation = $1 AND decision = 'executed'"
            " ORDER BY id DESC LIMIT 1",
            operation,
        )
    assert row is not None and row["verification"] is not None
    value = row["verification"]
    return row["outcome"], json.loads(value) if isinstance(value, str) else value


async def test_migrate_shows_its_own_output_and_is_verified_by_the_health_after(stack: Stack) -> None:
    done = await run_confirmed(stack.runtime, "db migrate", "U0OPER")
    assert done.ok, done.summary
    assert "Last lines of step 1:" in [b.text for b in done.blocks if isinstance(b, Text)]
    assert "applying migrations to pedidos" in codes(done), "the step's own tail is in the message"
    assert any(isinstance(b, Attachment) for b in done.blocks) and "applying migrations" in attachment(done)
    found = verification_of(done)
    step, *health = found.checks
    assert found.verified
    assert step.name.startswith("step: "), step
    assert step.detail == "done; its last line: applying migrations to pedidos"
    assert health and all(c.state == "ok" for c in health), health
    outcome, recorded = await executed(stack.runtime, "db migrate")
    assert outcome == "ok" and recorded["verified"] is True and len(recorded["checks"]) == len(found.checks)


async def test_migrate_that_leaves_the_api_failing_is_not_verified(stack: Stack, health: Health) -> None:
    health.passes = 0
    done = await run_confirmed(stack.runtime, "db migrate-rollback 20251107_add_orders", "U0ADMIN")
    found = verification_of(done)
    step, *checks = found.checks
    assert step.state == "ok" and "resolve --rolled-back 20251107_add_orders" in step.detail
    failing = [c for c in checks if c.state != "ok"]
    assert failing and any("500" in c.detail for c in failing), checks
    assert not found.verified
    assert done.ok, "the step did run: its own outcome stands, the verification says what is wrong now"
    assert "❌ not verified" in render_text(done).text and "❌ not verified" in done.summary
    outcome, recorded = await executed(stack.runtime, "db migrate-rollback")
    assert outcome == "ok" and recorded["verified"] is False


async def test_restore_reads_the_health_again_after_its_own_health_step(stack: Stack, health: Health) -> None:
    made = await run_confirmed(stack.runtime, "db backup", "U0OPER")
    assert made.ok, made.summary
    [backup] = BackupStore(str(stack.backups), "America/Santiago").backups()
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants WHERE id = 'abc123'")
    finally:
        await conn.close()
    health.passes = health.requests + 1  # the procedure's health step passes; the next read fails
    done = await run_confirmed(stack.runtime, f"db restore {backup.name}", "U0ADMIN", approver="U0ADMIN2")
    assert await tenant_ids(stack.dsn) == ["abc123", "zz9"], "the restore itself ran"
    assert "All 5 steps done" in render_text(done).text
    found = verification_of(done)
    steps = found.checks[:4]
    assert [c.state for c in steps] == ["ok"] * 4, steps
    assert any(c.state != "ok" and "500" in c.detail for c in found.checks[4:]), found.checks
    assert not found.verified and done.ok
    assert "Last lines of step 3:" in render_text(done).text


async def test_deploy_rollback_shows_the_deploy_step_output_and_is_verified(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    done = await run_confirmed(runtime, f"deploy rollback {repo.second[:8]}", "U0ADMIN", approver="U0ADMIN2")
    assert done.ok, done.summary
    assert "Last lines of step 3:" in render_text(done).text
    assert "cp build.out deployed.txt" in codes(done)
    found = verification_of(done)
    assert found.verified
    revert, build, deploy = found.checks[:3]
    assert build.detail == "done; its last line: cp app.txt build.out", build
    assert deploy.detail == "done; its last line: cp build.out deployed.txt", deploy
    assert revert.state == "ok"


async def test_a_secret_in_the_step_output_stays_out_of_the_verification_and_its_audit_row(
    make_runtime: RuntimeFactory,
    compose_project: str,
    own_db: str,
    health_api: HttpTarget,
    tmp_path: Path,
    redis_prefix: str,
) -> None:
    assert PASSWORD in own_db
    steps = f'    migrate: {{cwd: {tmp_path}, run: "echo connecting to {own_db}"}}\n'
    text = steps_config(compose_project, steps, dsn=own_db, api_url=health_api.url)
    runtime = await make_runtime(text, redis_prefix=f"{redis_prefix}leak:")
    done = await run_confirmed(runtime, "db migrate", "U0OPER")
    step = verification_of(done).checks[0]
    assert step.detail.startswith("done; its last line: connecting to postgresql://postgres:••••@"), step
    assert PASSWORD not in render_text(done).text and PASSWORD not in done.summary
    _, recorded = await executed(runtime, "db migrate")
    assert PASSWORD not in json.dumps(recorded) and "••••" in recorded["checks"][0]["detail"]
