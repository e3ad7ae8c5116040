"""Health and status against real loopback HTTP targets, Postgres, Redis and containers."""

from __future__ import annotations

import time

from conftest import REDIS_URL, RuntimeFactory, base_config
from targets import delayed, hangs, start_http_target, start_silent_server

from bot.core.dispatcher import Invocation
from bot.output.results import Check, Checks, Result


def checks_of(result: Result) -> dict[str, Check]:
    return {c.name: c for block in result.blocks if isinstance(block, Checks) for c in block.checks}


async def test_three_one_second_checks_answer_in_about_one_second(make_runtime: RuntimeFactory) -> None:
    target = await start_http_target({"/a": delayed(1.0), "/b": delayed(1.0), "/c": delayed(1.0)})
    try:
        runtime = await make_runtime(base_config(api_url=target.url, health={"a": "/a", "b": "/b", "c": "/c"}))
        started = time.perf_counter()
        result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
        elapsed = time.perf_counter() - started
    finally:
        await target.close()
    assert result.ok
    assert {n: c.state for n, c in checks_of(result).items()} == {"API /a": "ok", "API /b": "ok", "API /c": "ok"}
    assert sorted(v.path for v in target.visits) == ["/a", "/b", "/c"]
    assert target.ran_together(), f"checks ran one after another: {target.visits}"
    assert elapsed >= 0.95
    assert all(c.latency_ms is not None and c.latency_ms >= 950 for c in checks_of(result).values())


async def test_hung_target_gives_a_timeout_line_not_a_hung_bot(make_runtime: RuntimeFactory) -> None:
    target = await start_http_target({"/health": delayed(0), "/health/db": hangs()})
    try:
        cfg = base_config(api_url=target.url, health={"api": "/health", "db": "/health/db"}, timeout="1s")
        runtime = await make_runtime(cfg)
        started = time.perf_counter()
        result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
        elapsed = time.perf_counter() - started
    finally:
        await target.close()
    checks = checks_of(result)
    assert checks["API /health"].state == "ok"
    assert checks["API /health/db"].state == "timeout" and "no answer within 1s" in checks["API /health/db"].detail
    assert elapsed < 4, "answered at the 1 s timeout, not a default one (5 s and more) or never"
    assert not result.ok


async def test_silent_tcp_server_times_out_too(make_runtime: RuntimeFactory) -> None:
    server, url = await start_silent_server()
    try:
        runtime = await make_runtime(base_config(api_url=url, timeout="1s"))
        result = await runtime.dispatcher.dispatch(Invocation("health api", "U0VIEW", "C1", "slack"))
    finally:
        server.close()
    assert checks_of(result)["API /health"].state == "timeout"


async def test_unknown_health_check_is_a_usage_error(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(health={"api": "/health", "db": "/health/db"}))
    result = await runtime.dispatcher.dispatch(Invocation("health nope", "U0VIEW", "C1", "slack"))
    assert not result.ok and "known checks: api, db" in result.summary


async def test_down_endpoint_fails_with_reason(make_runtime: RuntimeFactory) -> None:
    target = await start_http_target({"/health": delayed(0, status=503)})
    try:
        runtime = await make_runtime(base_config(api_url=target.url))
        result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
    finally:
        await target.close()
    assert checks_of(result)["API /health"].state == "fail" and "HTTP 503" in checks_of(result)["API /health"].detail


async def test_status_covers_api_containers_postgres_and_redis(
    make_runtime: RuntimeFactory, compose_project: str, target_db_url: str
) -> None:
    target = await start_http_target({"/health": delayed(0)})
    try:
        cfg = base_config(api_url=target.url, project=compose_project, target_db=target_db_url, target_redis=REDIS_URL)
        runtime = await make_runtime(cfg)
        result = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    finally:
        await target.close()
    states = {n: c.state for n, c in checks_of(result).items()}
    assert states == {
        "API /health": "ok",
        "container api": "ok",
        "container postgres": "ok",
        "container redis": "ok",
        "Postgres SELECT 1 (direct)": "ok",
        "Redis PING (direct)": "ok",
    }
    assert result.ok


async def test_status_reports_a_down_database_without_its_password(make_runtime: RuntimeFactory) -> None:
    dsn = "postgresql://pedidos:hunter2secret@127.0.0.1:1/pedidos"
    runtime = await make_runtime(base_config(target_db=dsn, target_redis="redis://127.0.0.1:1/0", timeout="1s"))
    result = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    checks = checks_of(result)
    assert checks["Postgres SELECT 1 (direct)"].state in ("fail", "timeout")
    assert checks["Redis PING (direct)"].state in ("fail", "timeout")
    assert "hunter2secret" not in repr(result)
