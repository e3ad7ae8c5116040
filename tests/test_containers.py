"""ps and logs against real busybox containers found by their compose labels."""

from __future__ import annotations

import asyncio

from conftest import RuntimeFactory, base_config

from bot.core.dispatcher import Invocation
from bot.output.results import Attachment, Code, Result, Table


def code_text(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Code))


async def test_ps_lists_the_project_containers(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    assert sorted(row[0] for row in table.rows) == ["api", "postgres", "redis"]
    assert all(row[2] == "running" for row in table.rows)
    assert result.ok


async def test_ps_of_one_service(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("ps redis", "U0VIEW", "C1", "slack"))
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    assert [row[1] for row in table.rows] == [f"{compose_project}-redis-1"]


async def test_ps_with_no_containers_says_so(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(project="no-such-project-xyz"))
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    assert not result.ok and "No containers found" in str(result.blocks)


async def test_logs_tail_returns_the_last_lines(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 5", "U0VIEW", "C1", "slack"))
    lines = code_text(result).splitlines()
    assert len(lines) == 5
    assert any("GET /orders/" in line for line in lines)


async def test_logs_grep_keeps_only_matching_lines(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 60 --grep WEBHOOK", "U0VIEW", "C1", "slack"))
    lines = code_text(result).splitlines()
    assert lines and all("webhook received payment" in line for line in lines)


async def test_logs_include_stderr(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 20 --grep warn", "U0VIEW", "C1", "slack"))
    assert "warn slow query" in code_text(result)


async def test_logs_since_limits_the_window(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    await asyncio.sleep(2.2)  # the containers may have just started: make their first line older than 1s
    recent = await runtime.dispatcher.dispatch(Invocation("logs postgres --since 1s", "U0VIEW", "C1", "slack"))
    everything = await runtime.dispatcher.dispatch(Invocation("logs postgres --since 2h", "U0VIEW", "C1", "slack"))
    assert "postgres ready" not in code_text(recent), "the only line was written at start, long before 1s ago"
    assert "postgres ready" in code_text(everything)


async def test_long_logs_become_a_file_with_the_tail_inline(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 100", "U0VIEW", "C1", "slack"))
    (attachment,) = [b for b in result.blocks if isinstance(b, Attachment)]
    assert attachment.content.decode().count("\n") >= 60
    assert len(code_text(result).splitlines()) == 40


async def test_logs_of_an_unknown_service_is_refused(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    for text in (
        "logs nginx",
        "logs ../../etc/passwd",
        "logs api --tail 0",
        "logs api --tail 99999",
        "logs api --since x",
    ):
        result = await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))
        assert not result.ok and "Usage" in result.summary, text


async def test_docker_engine_unreachable_is_a_clear_message(make_runtime: RuntimeFactory) -> None:
    cfg = base_config().replace("url: unix:///var/run/docker.sock", "url: unix:///tmp/no-docker-here.sock")
    runtime = await make_runtime(cfg)
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    assert not result.ok and "Docker engine unreachable" in result.summary


async def test_target_errors_speak_the_configured_language(make_runtime: RuntimeFactory) -> None:
    cfg = base_config(locale="es").replace("url: unix:///var/run/docker.sock", "url: unix:///tmp/no-docker-here.sock")
    runtime = await make_runtime(cfg)
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    assert "motor Docker inalcanzable" in result.summary
    status = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    assert "motor Docker inalcanzable" in str(status.blocks)
