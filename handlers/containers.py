"""Runbook "docker-compose ps / logs": the stack's containers, found by compose labels."""

from __future__ import annotations

from datetime import timedelta

from bot.argtypes import DurationArg, ServiceName, option, positional
from bot.context import OpContext
from bot.durations import format_duration
from bot.errors import BotError
from bot.registry import OpArgs, operation
from bot.results import Attachment, Code, Result, Table, Text
from bot.targets.docker import DockerTarget

INLINE_LINES = 40


def docker_of(ctx: OpContext) -> DockerTarget:
    if ctx.deps.docker is None:
        raise BotError("error.not_configured", key="stack.docker")
    return ctx.deps.docker


class PsArgs(OpArgs):
    service: ServiceName | None = positional(None, metavar="service")


@operation("ps", PsArgs)
async def ps(ctx: OpContext, args: PsArgs) -> Result:
    """The stack's containers: state, uptime, image."""
    docker = docker_of(ctx)
    found = await docker.containers(args.service)
    title = ctx.t("ps.title", project=docker.project)
    if not found:
        return Result(title=title, blocks=[Text(ctx.t("ps.none", what=args.service or docker.project))], ok=False)
    columns = ctx.t("ps.columns").split("|")
    rows = [[c.service, c.name, c.state, c.status + (f" ({c.health})" if c.health else ""), c.image] for c in found]
    missing = [
        s for s in ([args.service] if args.service else ctx.config.services) if s not in {c.service for c in found}
    ]
    blocks: list[Table | Text] = [Table(columns, rows)]
    if missing:
        blocks.append(Text(", ".join(ctx.t("ps.none", what=s) for s in missing)))
    return Result(title=title, blocks=list(blocks), ok=all(c.running for c in found) and not missing)


class LogsArgs(OpArgs):
    service: ServiceName = positional(metavar="service")
    tail: int = option(100, metavar="N", ge=1, le=10000)
    grep: str | None = option(None, metavar="TEXT", min_length=1, max_length=200)
    since: DurationArg | None = option(None, metavar="15m")


@operation("logs", LogsArgs)
async def logs(ctx: OpContext, args: LogsArgs) -> Result:
    """Recent log lines of a service's container, optionally filtered (case-insensitive)."""
    docker = docker_of(ctx)
    info, lines = await docker.logs(args.service, args.tail, args.since)
    if args.grep:
        needle = args.grep.lower()
        lines = [line for line in lines if needle in line.lower()]
    filters = ""
    if args.grep:
        filters += ctx.t("logs.filter.grep", grep=args.grep)
    if args.since:
        filters += ctx.t("logs.filter.since", since=_fmt(args.since))
    title = ctx.t("logs.title", service=args.service)
    if not lines:
        return Result(title=title, blocks=[Text(ctx.t("logs.empty", filters=filters))])
    text = "\n".join(ctx.deps.redact(line) for line in lines)
    summary = ctx.t("logs.summary", count=len(lines), container=info.name, filters=filters)
    blocks: list[Text | Code | Attachment] = [Text(summary)]
    if len(lines) > INLINE_LINES:
        blocks.append(Code("\n".join(text.splitlines()[-INLINE_LINES:])))
        blocks.append(Attachment(f"{args.service}-logs.txt", text.encode(), title))
        blocks.append(Text(ctx.t("file.attached", name=f"{args.service}-logs.txt")))
    else:
        blocks.append(Code(text))
    return Result(title=title, blocks=list(blocks), summary=summary)


def _fmt(delta: timedelta) -> str:
    return format_duration(delta)
