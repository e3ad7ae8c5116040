"""Runbook "Verificación de Salud": `make health-check` and the curl lines, run concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.core.argtypes import CheckName, positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation
from bot.output.results import Check, Checks, Result, Text
from bot.storage.database import short_error
from bot.targets.http import check_http
from bot.targets.net_errors import connect_failure, describe
from bot.text.errors import BotError
from bot.text.messages import Msg

DEFAULT_TIMEOUT = 5.0


class HealthArgs(OpArgs):
    check: CheckName | None = positional(None, metavar="check")


def _timeout(ctx: OpContext) -> float:
    api = ctx.config.stack.api
    return api.timeout.total_seconds() if api else DEFAULT_TIMEOUT


def http_checks(ctx: OpContext, only: str | None = None) -> list[Awaitable[Check]]:
    api = ctx.config.stack.api
    if api is None:
        return []
    base = api.base_url.rstrip("/")
    return [
        check_http(ctx.deps.http, ctx.t("check.name.http", path=path), base + path, _timeout(ctx), ctx.t)
        for name, path in api.health.items()
        if only is None or name == only
    ]


async def timed(name: str, probe: Callable[[], Awaitable[str]], timeout: float, ctx: OpContext) -> Check:
    """Run one probe under its own timeout; a failure or hang is a line, never an exception."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            detail = await probe()
    except TimeoutError:
        return Check(name, "timeout", ctx.t("check.timeout", seconds=f"{timeout:g}"), _ms(started))
    except Exception as exc:  # a probe's own failure is its verdict
        worded = isinstance(exc, BotError) and isinstance(exc.fields.get("detail"), Msg)  # already a sentence
        failed = None if worded else connect_failure(exc)
        if failed is not None:  # a connection that failed: why, in a few words, not the library's repr
            return Check(name, "fail", ctx.t.text(describe(failed)), _ms(started))
        if isinstance(exc, BotError):
            return Check(name, "fail", ctx.deps.redact(ctx.t.text(exc.fields.get("detail", exc.key))), _ms(started))
        return Check(name, "fail", ctx.deps.redact(short_error(exc)), _ms(started))
    return Check(name, "ok", detail, _ms(started))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def summarize(ctx: OpContext, title: str, checks: list[Check]) -> Result:
    bad = sum(1 for c in checks if c.state != "ok")
    if not checks:
        return Result(title=title, blocks=[Text(ctx.t("check.nothing"))], ok=False)
    summary = (
        ctx.t("status.summary.ok", count=len(checks))
        if not bad
        else ctx.t("status.summary.bad", bad=bad, count=len(checks))
    )
    blocks: list[Text | Checks] = [Text(summary), Checks(checks)]
    note = api_down_note(ctx, checks)
    if note:
        blocks.append(Text(note))
    return Result(title=title, blocks=list(blocks), ok=bad == 0, summary=summary)


def api_down_note(ctx: OpContext, checks: list[Check]) -> str | None:
    """When no API endpoint answered at all, say so once: "API /health/db failed" must not read
    as "the database is down" when the API itself could not be reached."""
    api = ctx.config.stack.api
    prefix = ctx.t("check.api_unreachable", reason="")
    http = [c for c in checks if c.name.startswith(ctx.t("check.name.http", path=""))]
    if api is None or not http or not all(c.state == "fail" and c.detail.startswith(prefix) for c in http):
        return None
    reasons = sorted({c.detail.removeprefix(prefix) for c in http})
    return ctx.t("check.api_down_note", url=ctx.deps.redact(api.base_url), reason=", ".join(reasons))


@operation("health", HealthArgs)
async def health(ctx: OpContext, args: HealthArgs) -> Result:
    """The API's health endpoints, all at once, each with its latency."""
    checks = await asyncio.gather(*http_checks(ctx, args.check))
    return summarize(ctx, ctx.t("health.title"), list(checks))


def service_probes(ctx: OpContext) -> list[Awaitable[Check]]:
    """Container state of every service, and direct pings of the stack's Postgres and Redis."""
    timeout = _timeout(ctx)
    probes: list[Awaitable[Check]] = []
    docker = ctx.deps.docker
    if docker is not None:
        for service in ctx.config.services:

            async def container(service: str = service) -> str:
                info = await docker.container_of(service)
                if not info.running:
                    raise BotError(detail=ctx.t("check.container", state=info.describe(ctx.t)))
                return ctx.t("check.container", state=info.describe(ctx.t))

            probes.append(timed(ctx.t("check.name.container", service=service), container, timeout, ctx))
    target_db = ctx.deps.target_db
    if target_db is not None:

        async def postgres() -> str:
            await target_db.ping()
            return ctx.t("check.sql_ok")

        probes.append(timed(ctx.t("check.name.postgres"), postgres, timeout, ctx))
    target_redis = ctx.deps.target_redis
    if target_redis is not None:

        async def redis() -> str:
            await target_redis.ping()
            return ctx.t("check.pong")

        probes.append(timed(ctx.t("check.name.redis"), redis, timeout, ctx))
    return probes


@operation("status", NoArgs)
async def status(ctx: OpContext, args: NoArgs) -> Result:
    """Every service of the stack in one message: health endpoints, containers, database, cache."""
    checks = await asyncio.gather(*http_checks(ctx), *service_probes(ctx))
    project = ctx.config.stack.docker.compose_project if ctx.config.stack.docker else "stack"
    return summarize(ctx, ctx.t("status.title", project=project), list(checks))
