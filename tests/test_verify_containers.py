"""restart / start / up / stop end with what the engine shows afterwards, in the message and the audit row.

Each test makes its own busybox containers, labelled as docker-compose would label a stack,
so what a restart does to them cannot disturb the session's shared stack: a health check that
passes, one that fails, a container that crashes at once, one that ignores SIGTERM.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confirm_flow import run_confirmed
from conftest import BUSYBOX, RuntimeFactory, base_config

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Result, Verification
from bot.output.slack import render_slack
from bot.output.terminal import render_text

HEALTHY_AFTER_A_SECOND = "rm -f /tmp/ok; sleep 1; touch /tmp/ok; exec sleep 3600"
GRACEFUL = "trap 'exit 0' TERM; while :; do sleep 0.2; done"
IGNORES_TERM = "sleep 3600"  # sh as PID 1 has no TERM handler: the engine kills it after the grace


def _docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=check)
    return done.stdout.strip()


class Stack:
    """A compose project of this test's own containers."""

    def __init__(self) -> None:
        self.project = f"verify{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []

    def add(self, service: str, script: str, *health: str, run: bool = True) -> str:
        name = f"{self.project}-{service}-1"
        labels = ["--label", f"com.docker.compose.project={self.project}"]
        labels += ["--label", f"com.docker.compose.service={service}"]
        verb = ["run", "-d"] if run else ["create"]
        _docker(*verb, "--network", "none", "--name", name, *labels, *health, BUSYBOX, "sh", "-c", script)
        self.names.append(name)
        return name

    def started_at(self, name: str) -> str:
        return _docker("inspect", "-f", "{{.State.StartedAt}}", name)

    def state(self, name: str) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(_docker("inspect", "-f", "{{json .State}}", name))
        return state


@pytest.fixture
def stack() -> Iterator[Stack]:
    made = Stack()
    try:
        yield made
    finally:
        if made.names:
            _docker("rm", "-f", *made.names, check=False)


def health(cmd: str) -> list[str]:
    return [
        "--health-cmd", cmd, "--health-interval", "1s", "--health-retries", "1",
        "--health-timeout", "1s", "--health-start-period", "0s",
    ]  # fmt: skip


def verification_of(result: Result) -> Verification:
    found = result.verification
    assert found is not None, result
    return found


async def executed_row(runtime: Runtime, operation: str) -> tuple[str, dict[str, Any] | None]:
    async with runtime.deps.db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT outcome, verification FROM audit_log WHERE operation = $1"
            " AND decision IN ('executed', 'allowed') ORDER BY id DESC LIMIT 1",
            operation,
        )
    assert row is not None
    value = row["verification"]
    return row["outcome"], json.loads(value) if isinstance(value, str) else value


async def test_restart_is_verified_by_a_new_start_time_and_a_passing_health_check(
    make_runtime: RuntimeFactory, stack: Stack
) -> None:
    name = stack.add("api", HEALTHY_AFTER_A_SECOND, *health("test -f /tmp/ok"))
    before = stack.started_at(name)
    runtime = await make_runtime(base_config(project=stack.project))
    result = await run_confirmed(runtime, "restart api", "U0OPER")
    after = stack.started_at(name)
    assert after != before, "the container really was restarted"
    found = verification_of(result)
    assert found.verified and result.ok, found
    running, healthy = found.checks
    assert running.state == "ok" and "started" in running.detail
    assert healthy.state == "ok" and "healthy" in healthy.detail and "bound 60 s" in healthy.detail
    assert stack.state(name)["Health"]["Status"] == "healthy"
    outcome, recorded = await executed_row(runtime, "restart")
    assert outcome == "ok" and recorded is not None and recorded["verified"] is True
    assert [c["state"] for c in recorded["checks"]] == ["ok", "ok"]
    assert "✅ verified" in render_text(result).text
    assert "✅ verified" in json.dumps(render_slack(result).blocks, ensure_ascii=False)


async def test_restart_into_a_failing_health_check_is_not_verified(make_runtime: RuntimeFactory, stack: Stack) -> None:
    stack.add("api", "exec sleep 3600", *health("false"))
    runtime = await make_runtime(base_config(project=stack.project))
    result = await run_confirmed(runtime, "restart api", "U0OPER")
    found = verification_of(result)
    assert not found.verified and not result.ok
    running, healthy = found.checks
    assert running.state == "ok"
    assert healthy.state == "fail" and healthy.detail.startswith("unhealthy"), healthy
    assert "❌ not verified" in render_text(result).text
    outcome, recorded = await executed_row(runtime, "restart")
    assert outcome == "failed" and recorded is not None and recorded["verified"] is False
    assert "unhealthy" in recorded["checks"][1]["detail"]
    shown = await runtime.dispatcher.dispatch(Invocation("audit 5", "U0ADMIN", "C1", "slack"))
    executed = [line for line in render_text(shown).text.splitlines() if "restart" in line and "executed" in line]
    assert executed and "❌" in executed[0], render_text(shown).text  # /ops audit shows the verdict


async def test_restart_of_a_container_that_crashes_at_once_is_not_verified(
    make_runtime: RuntimeFactory, stack: Stack
) -> None:
    stack.add("api", "sleep 0.5; exit 3")
    runtime = await make_runtime(base_config(project=stack.project))
    result = await run_confirmed(runtime, "restart api", "U0OPER")
    (running,) = verification_of(result).checks
    assert running.state == "fail" and "exited (3)" in running.detail, running
    assert not result.ok and "not verified" in result.summary


async def test_start_and_up_are_verified_per_container(make_runtime: RuntimeFactory, stack: Stack) -> None:
    api = stack.add("api", GRACEFUL, run=False)
    redis = stack.add("redis", GRACEFUL, run=False)
    runtime = await make_runtime(base_config(project=stack.project))
    started = await runtime.dispatcher.dispatch(Invocation("start api", "U0OPER", "C1", "slack"))
    (check,) = verification_of(started).checks
    assert started.ok and check.state == "ok" and "before: —" in check.detail, check
    assert stack.state(api)["Running"]
    again = await runtime.dispatcher.dispatch(Invocation("start api", "U0OPER", "C1", "slack"))
    (check,) = verification_of(again).checks
    assert "already running" in check.detail
    up = await runtime.dispatcher.dispatch(Invocation("up", "U0OPER", "C1", "slack"))
    checks = verification_of(up).checks
    assert [c.name for c in checks] == [f"{redis} running again"], checks  # api was running already
    assert stack.state(redis)["Running"]
    outcome, recorded = await executed_row(runtime, "up")
    assert recorded is not None and recorded["verified"] is True and recorded["checks"][0]["name"].startswith(redis)
    assert outcome == "failed"  # postgres is configured but has no container here: up says partial


async def test_stop_says_whether_the_container_exited_or_was_killed_after_the_grace(
    make_runtime: RuntimeFactory, stack: Stack
) -> None:
    stack.add("api", GRACEFUL)
    stubborn = stack.add("redis", IGNORES_TERM)
    runtime = await make_runtime(base_config(project=stack.project))
    graceful = await run_confirmed(runtime, "stop api", "U0OPER")
    (check,) = verification_of(graceful).checks
    assert graceful.ok and check.state == "ok" and "exited by itself (exit code 0)" in check.detail, check
    killed = await run_confirmed(runtime, "stop redis", "U0OPER")
    (check,) = verification_of(killed).checks
    assert killed.ok and "KILLED after the 1 s grace period" in check.detail and "137" in check.detail, check
    assert stack.state(stubborn)["ExitCode"] == 137
    _, recorded = await executed_row(runtime, "stop")
    assert recorded is not None and "KILLED" in recorded["checks"][0]["detail"]


async def test_verification_speaks_spanish(make_runtime: RuntimeFactory, stack: Stack) -> None:
    stack.add("api", GRACEFUL)
    runtime = await make_runtime(base_config(project=stack.project, locale="es"))
    result = await run_confirmed(runtime, "restart api", "U0OPER")
    found = verification_of(result)
    assert found.heading == "✅ verificado" and "iniciado" in found.checks[0].detail, found
