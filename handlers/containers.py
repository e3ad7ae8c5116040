"""Runbook "docker-compose ps / logs": the stack's containers, found by compose labels."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.core.argtypes import DurationArg, ServiceName, option, positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation, preview_for
from bot.core.verify import verified
from bot.output.results import Attachment, Code, Fields, Result, Table, Text
from bot.targets import log_scan
from bot.targets.docker import ContainerInfo, DockerTarget
from bot.targets.log_scan import LogLine, scan_logs, split_stamp
from bot.text import times
from bot.text.durations import format_duration
from bot.text.errors import BotError
from handlers.container_checks import verify_all

INLINE_LINES = 40
INLINE_CHARS = 2_600
"""What fits one Slack section (3,000) with the code fence; more goes in the file as well."""
LINE_LIMIT = 1_000
"""Characters of one log line shown in the message; a longer one ends with "… cut N characters"
and the output goes as a file as well."""
FILE_LINE_LIMIT = 20_000
"""Characters of one log line kept in the file (cut before redaction)."""
LOG_TIME = "%m-%d %H:%M:%S"
"""A log line's time in the message: month-day and seconds; the zone is said once above the lines."""
FILE_CHARS = 1_000_000
"""About 1 MB of lines in the file, the newest; older ones are dropped with a note."""


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
    rows = [
        [c.service, c.name, c.state, c.describe(ctx.t) + (f" ({c.health})" if c.health else ""), c.image] for c in found
    ]
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
    """A service's log lines; --grep searches the whole log (or --since), then keeps the last N matches."""
    docker = docker_of(ctx)
    tz = times.zone(ctx.config.timezone)
    title = ctx.t("logs.title", service=args.service)
    if args.grep:
        return await _grep(ctx, docker, args, tz, title)
    info, raw = await docker.logs(args.service, args.tail, args.since, timestamps=True)
    filters = ctx.t("logs.filter.since", since=_fmt(args.since)) if args.since else ""
    if not raw:
        return Result(title=title, blocks=[Text(ctx.t("logs.empty", filters=filters))])
    summary = ctx.t("logs.summary", count=len(raw), container=info.name, filters=filters)
    return _render(ctx, args, title, summary, [split_stamp(line) for line in raw], tz)


async def _grep(ctx: OpContext, docker: DockerTarget, args: LogsArgs, tz: ZoneInfo, title: str) -> Result:
    """`logs | grep TEXT | tail N` over the whole log (or the --since window), bounded in size."""
    assert args.grep is not None
    scan = await scan_logs(docker, args.service, args.grep, args.tail, args.since, log_scan.MAX_SCAN_CHARS)
    window = ctx.t("logs.grep.window.since", since=_fmt(args.since)) if args.since else ctx.t("logs.grep.window.all")
    notes: list[str] = []
    if scan.capped:
        shown_at = times.local if scan.lines else times.stamped  # with lines, the summary says the zone once
        since = shown_at(scan.scanned_from, tz, "%Y-%m-%d %H:%M:%S") if scan.scanned_from else "?"
        notes.append(
            ctx.t("logs.grep.capped", size=_size(log_scan.MAX_SCAN_CHARS), lines=scan.scanned_lines, since=since)
        )
    if not scan.lines:
        text = ctx.t(
            "logs.grep.none", grep=args.grep, container=scan.container.name, window=window, scanned=scan.scanned_lines
        )
        return Result(title=title, blocks=[Text(line) for line in [text, *notes]], summary=text)
    summary = ctx.t(
        "logs.grep.summary_all" if len(scan.lines) == scan.matched else "logs.grep.summary",
        grep=args.grep,
        matched=scan.matched,
        scanned=scan.scanned_lines,
        container=scan.container.name,
        window=window,
        shown=len(scan.lines),
    )
    return _render(ctx, args, title, summary, scan.lines, tz, notes)


def _render(
    ctx: OpContext,
    args: LogsArgs,
    title: str,
    summary: str,
    lines: list[LogLine],
    tz: ZoneInfo,
    notes: list[str] | None = None,
) -> Result:
    """The lines, each with its time in the configured zone (said once, in the summary)."""
    dated = any(line.at for line in lines)
    if dated:
        summary += " " + ctx.t("time.zone_note", zone=times.zone_label(tz))
    shown = [(times.local(line.at, tz, LOG_TIME) + "  " if line.at else "") + line.text for line in lines]
    kept, dropped = _file_lines(ctx, shown)
    whole = "\n".join(text for text, _ in kept)
    inline = _inline_tail([_inline(ctx, text, size) for text, size in kept[-INLINE_LINES:]])
    blocks: list[Text | Code | Attachment] = [Text(summary), *(Text(note) for note in notes or []), Code(inline)]
    if inline != whole or dropped:  # something is not in the message: the file has it (within bounds)
        if dropped:
            whole = ctx.t("output.cut_lines", count=dropped, size=f"{FILE_CHARS // 1_000_000} MB") + "\n" + whole
        name = f"{args.service}-logs.txt"
        blocks.append(Attachment(name, (whole + "\n").encode(), title))
        blocks.append(Text(ctx.t("file.attached", name=name)))
    return Result(title=title, blocks=list(blocks), summary=summary)


def _size(chars: int) -> str:
    return f"{chars / (1024 * 1024):.3g} MB"


def _file_lines(ctx: OpContext, lines: list[str]) -> tuple[list[tuple[str, int]], int]:
    """The newest lines, each cut to FILE_LINE_LIMIT before it is redacted, until FILE_CHARS are
    used: (redacted line, its original length) oldest first, and how many older lines were dropped.

    Nothing here costs more than FILE_CHARS + FILE_LINE_LIMIT, however much the container printed.
    """
    kept: list[tuple[str, int]] = []
    size = 0
    for line in reversed(lines):
        shown = ctx.deps.redact.bounded(line, FILE_LINE_LIMIT)
        if kept and size + len(shown) + 1 > FILE_CHARS:
            break
        kept.append((shown, len(line)))
        size += len(shown) + 1
    kept.reverse()
    return kept, len(lines) - len(kept)


def _inline(ctx: OpContext, shown: str, size: int) -> str:
    """A line for the message: already redacted, so cutting it further can split no secret."""
    if size <= LINE_LIMIT:
        return shown
    return shown[:LINE_LIMIT] + ctx.deps.redact.cut_note(size - LINE_LIMIT)


def _inline_tail(lines: list[str]) -> str:
    """The last lines that fit one Slack section; the newest one always (it is at most LINE_LIMIT + a note)."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if kept and size + len(line) + 1 > INLINE_CHARS:
            break
        kept.insert(0, line)
        size += len(line) + 1
    return "\n".join(kept)


def _fmt(delta: timedelta) -> str:
    return format_duration(delta)


class ServiceArgs(OpArgs):
    service: ServiceName = positional(metavar="service")


def _container_fields(ctx: OpContext, info: ContainerInfo) -> Fields:
    t = ctx.t
    return Fields(
        [
            (t("containers.field.service"), info.service),
            (t("containers.field.container"), info.name),
            (t("containers.field.state"), info.describe(t)),
            (t("containers.field.image"), info.image),
        ]
    )


async def _preview(ctx: OpContext, args: ServiceArgs, verb: str) -> Result:
    docker = docker_of(ctx)
    found = await docker.containers(args.service)
    title = ctx.t(f"containers.{verb}.title", service=args.service)
    if not found:
        return Result(title=title, blocks=[Text(ctx.t("ps.none", what=args.service))], ok=False)
    blocks: list[Text | Fields] = [Text(ctx.t(f"containers.{verb}.preview", count=len(found)))]
    blocks.extend(_container_fields(ctx, info) for info in found)
    return Result(title=title, blocks=list(blocks))


async def _act(ctx: OpContext, service: str, verb: str) -> Result:
    """Do `verb` to each of the service's containers, then verify it by reading them back."""
    docker = docker_of(ctx)
    found = await docker.containers(service)
    if not found:
        return Result(
            title=ctx.t(f"containers.{verb}.title", service=service),
            blocks=[Text(ctx.t("ps.none", what=service))],
            ok=False,
        )
    after = [await docker.act(info, verb) for info in found]
    want_running = verb != "stop"
    ok = all(info.running == want_running for info in after)
    lines = [ctx.t("containers.after", name=info.name, state=info.describe(ctx.t)) for info in after]
    summary = ctx.t(f"containers.{verb}.{'done' if ok else 'failed'}", service=service)
    checks = await verify_all(ctx, docker, found, verb)
    result = Result(
        title=ctx.t(f"containers.{verb}.title", service=service),
        blocks=[Text(summary), Text("\n".join(lines))],
        ok=ok,
        summary=summary,
    )
    return verified(result, ctx.t, checks)


@operation("restart", ServiceArgs, role="operator", destructive="confirm", timeout=120, touches=("service:{service}",))
async def restart(ctx: OpContext, args: ServiceArgs) -> Result:
    """Restart a service's container (docker-compose restart)."""
    return await _act(ctx, args.service, "restart")


@preview_for("restart")
async def restart_preview(ctx: OpContext, args: ServiceArgs) -> Result:
    return await _preview(ctx, args, "restart")


@operation("stop", ServiceArgs, role="operator", destructive="confirm", timeout=120, touches=("service:{service}",))
async def stop(ctx: OpContext, args: ServiceArgs) -> Result:
    """Stop a service's container (docker-compose stop)."""
    return await _act(ctx, args.service, "stop")


@preview_for("stop")
async def stop_preview(ctx: OpContext, args: ServiceArgs) -> Result:
    return await _preview(ctx, args, "stop")


@operation("start", ServiceArgs, role="operator", timeout=120)
async def start(ctx: OpContext, args: ServiceArgs) -> Result:
    """Start a service's stopped container (docker-compose start)."""
    return await _act(ctx, args.service, "start")


@operation("up", NoArgs, role="operator", timeout=180)
async def up(ctx: OpContext, args: NoArgs) -> Result:
    """Start every service of the stack whose container is not running (make up)."""
    docker = docker_of(ctx)
    found = await docker.containers()
    lines: list[str] = []
    ok = True
    started: list[ContainerInfo] = []
    for service in ctx.config.services:
        mine = [c for c in found if c.service == service]
        if not mine:
            ok = False
            lines.append(ctx.t("containers.up.missing", service=service))
            continue
        for info in mine:
            if info.running:
                lines.append(ctx.t("containers.up.already", name=info.name))
                continue
            after = await docker.act(info, "start")
            ok = ok and after.running
            lines.append(ctx.t("containers.after", name=after.name, state=after.describe(ctx.t)))
            started.append(info)
    checks = await verify_all(ctx, docker, started, "start")
    summary = ctx.t("containers.up.done" if ok else "containers.up.partial")
    result = Result(
        title=ctx.t("containers.up.title", project=docker.project),
        blocks=[Text(summary), Text("\n".join(lines))],
        ok=ok,
        summary=summary,
    )
    # Nothing started, nothing to verify: "already running" lines say what is true.
    return verified(result, ctx.t, checks) if checks else result
