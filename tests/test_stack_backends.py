"""One suite, both backends of the stack seam (Kombu / Libcloud style): what a handler may ask
of "the stack's services" answers alike on compose (the machine's engine, compose labels) and
on Swarm (the private engine, a deployed stack). Backend-only behaviour is in
tests/test_swarm.py and tests/test_containers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import pytest
from conftest import RuntimeFactory, base_config
from swarm_stack import SwarmStack
from test_steps import context

from bot.core.deps import open_stack
from bot.core.dispatcher import Invocation
from bot.output.results import Check, Checks, Code, Result, Table
from bot.procedures.steps import StepOutput, run_in_container
from bot.targets.docker import DockerTarget
from bot.targets.swarm import SwarmTarget


def checks_of(result: Result) -> list[Check]:
    return [c for block in result.blocks if isinstance(block, Checks) for c in block.checks]


@dataclass(frozen=True)
class Backend:
    kind: str
    config: str


@pytest.fixture(params=["compose", "swarm"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "compose":
        return Backend("compose", base_config(project=request.getfixturevalue("compose_project")))
    stack: SwarmStack = request.getfixturevalue("swarm_stack")
    return Backend("swarm", stack.config())


async def test_deps_hold_the_backend_the_mode_names(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    assert runtime.deps.docker is not None and runtime.deps.docker.kind == backend.kind
    assert isinstance(runtime.deps.docker, SwarmTarget if backend.kind == "swarm" else DockerTarget)
    assert runtime.deps.config.stack.docker is not None
    assert type(open_stack(runtime.deps.config.stack.docker)) is type(runtime.deps.docker)


async def test_ps_shows_the_api_running(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(Invocation("ps api", "U0VIEW", "C1", "slack"))
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    assert table.rows and all(row[0] == "api" and "running" in row for row in table.rows)
    assert result.ok


async def test_logs_tail_gives_the_last_lines(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 5", "U0VIEW", "C1", "slack"))
    (code,) = [b for b in result.blocks if isinstance(b, Code)]
    assert len(code.text.splitlines()) == 5


async def test_logs_grep_finds_matching_lines(make_runtime: RuntimeFactory, backend: Backend) -> None:
    needle = "orders/" if backend.kind == "compose" else "line"
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(
        Invocation(f"logs api --tail 4 --grep {needle}", "U0VIEW", "C1", "slack")
    )
    (code,) = [b for b in result.blocks if isinstance(b, Code)]
    lines = code.text.splitlines()
    assert len(lines) == 4 and all(needle in line for line in lines)


async def test_a_step_runs_in_the_api(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    output = StepOutput(lambda s: s)
    await run_in_container(context(runtime), "api", ["sh", "-c", "echo step ran; exit 0"], output, timeout=10)
    output.close()
    assert output.head == ["step ran"]


async def test_a_live_tail_yields_new_lines(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    assert runtime.deps.docker is not None
    seen: list[str] = []
    async with asyncio.timeout(20), contextlib.aclosing(runtime.deps.docker.follow_logs("api")) as lines:
        async for line in lines:
            seen.append(line)
            if len(seen) == 3:
                break
    assert len(seen) == 3 and all(line.strip() for line in seen)


async def test_an_unknown_service_is_a_clear_error(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(Invocation("logs worker2 --tail 5", "U0VIEW", "C1", "slack"))
    assert not result.ok and "Traceback" not in str(result.blocks)


async def test_logs_since_keeps_the_window(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(Invocation("logs api --since 1h --tail 3", "U0VIEW", "C1", "slack"))
    (code,) = [b for b in result.blocks if isinstance(b, Code)]
    assert len(code.text.splitlines()) == 3


async def test_status_checks_the_api_container(make_runtime: RuntimeFactory, backend: Backend) -> None:
    runtime = await make_runtime(backend.config)
    result = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    (found,) = [c for c in checks_of(result) if c.name == "container api"]
    assert found.state == "ok" and "up" in found.detail, found
