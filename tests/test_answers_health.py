"""`status` / `health` name what each check is, and an unreachable API reads as such: real
loopback HTTP targets, a closed port, the real Postgres and Redis."""

from __future__ import annotations

from conftest import REDIS_URL, RuntimeFactory, base_config
from targets import delayed, start_http_target

from bot.core.dispatcher import Invocation
from bot.output.results import Check, Checks, Result, Text

HEALTH = {"api": "/health", "db": "/health/db"}


def checks_of(result: Result) -> dict[str, Check]:
    return {c.name: c for block in result.blocks if isinstance(block, Checks) for c in block.checks}


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


async def test_an_unreachable_api_reads_as_unreachable_not_as_db_down(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(api_url="http://127.0.0.1:9", health=HEALTH))
    result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
    checks = checks_of(result)
    assert set(checks) == {"API /health", "API /health/db"}
    assert all(c.state == "fail" and c.detail == "API unreachable: connection refused" for c in checks.values())
    note = texts(result)
    assert "The API at http://127.0.0.1:9 did not answer (connection refused)" in note
    assert "says nothing about the database" in note
    assert "Cannot connect" not in repr(result) and "ssl:default" not in repr(result)


async def test_status_tells_the_apis_db_endpoint_from_a_direct_postgres_check(
    make_runtime: RuntimeFactory, compose_project: str, target_db_url: str
) -> None:
    """The API says its database is unhealthy while Postgres answers SELECT 1: two different facts."""
    target = await start_http_target({"/health": delayed(0), "/health/db": delayed(0, status=503)})
    try:
        cfg = base_config(
            api_url=target.url, health=HEALTH, project=compose_project, target_db=target_db_url, target_redis=REDIS_URL
        )
        runtime = await make_runtime(cfg)
        result = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    finally:
        await target.close()
    checks = checks_of(result)
    assert checks["API /health/db"].state == "fail" and checks["API /health/db"].detail == "HTTP 503"
    assert checks["API /health"].state == "ok"
    assert checks["Postgres SELECT 1 (direct)"].state == "ok"
    assert checks["Redis PING (direct)"].state == "ok"
    assert "did not answer" not in texts(result), "the API answered: no unreachable note"


async def test_a_down_postgres_and_redis_give_short_reasons(make_runtime: RuntimeFactory) -> None:
    cfg = base_config(target_db="postgresql://u:pw@127.0.0.1:1/x", target_redis="redis://127.0.0.1:1/0")
    runtime = await make_runtime(cfg)
    result = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
    checks = checks_of(result)
    for name in ("Postgres SELECT 1 (direct)", "Redis PING (direct)"):
        assert checks[name].state == "fail", checks[name]
        assert len(checks[name].detail) <= 60 and "(" not in checks[name].detail.split(":")[0], checks[name].detail
        assert "refused" in checks[name].detail, checks[name].detail


async def test_an_unknown_host_says_so_in_spanish(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(api_url="http://no-such-host.invalid", health=HEALTH, locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
    details = {c.detail for c in checks_of(result).values()}
    assert details == {"API inalcanzable: nombre de host no encontrado"}
    assert "La API en http://no-such-host.invalid no respondió" in texts(result)
