"""Runbook "Troubleshooting" and "Incidentes Comunes" as one command each: `/ops diagnose <section>`.

Each section of the runbook is a few shell lines an engineer types one after another
while the system burns. Here they are steps that run at the same time, each under its
own timeout, and one message comes back with a verdict per finding: ok, warning or
failing, and why. A step that hangs shows as a timeout while the others still report,
so the answer arrives within about the slowest step's timeout, never the sum.

    api       container state · errors in the last 100 log lines · /health and its latency
    db        container · errors in the last 50 log lines · pg_stat_activity · /health/db
    redis     container · PING round trip · INFO memory · /health/redis
    payments  webhook lines in the api's logs of the last 15 min · failed jobs in `payments`
    slow      latency quantiles · slowest statements (pg_stat_statements) · cache hit rate

The message ends with the section's remedies as buttons. A button is just the command
text (`/ops restart api`, `/ops queue retry payments all`): a click goes through the same
parsing, role check and confirmation as typing it, so offering it here grants nothing.

When an incident is open, "Add to INC-42" posts the findings into its thread: the
findings' plain text waits in the bot's Redis (FINDINGS_TTL) under an id, and the button
runs `/ops diagnose post <id> <incident>`, which queues an incident timeline note that the
escalation worker posts (bot/incidents/escalation.py renders the `diagnosis` event).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo
from redis.exceptions import RedisError

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.parsing import find_operation, split_words
from bot.core.registry import REGISTRY, OpArgs, operation
from bot.output.results import Block, Button, Buttons, Check, Checks, CheckState, Code, Result, Table, Text
from bot.output.terminal import render_text
from bot.storage.database import short_error
from bot.storage.incidents import Incident
from bot.targets.http import check_http
from bot.text.errors import BotError, TargetError, UnavailableError
from bot.text.ids import new_id
from bot.text.messages import Catalog
from handlers.database import database_name, slow_statements, stack_db
from handlers.incidents import IncidentRef
from handlers.metrics import (
    Observation,
    cache_rates,
    fmt_seconds,
    fmt_share,
    latency_report,
    latency_table,
    observe,
    window_note,
)
from handlers.metrics import api_timeout as metrics_timeout
from handlers.metrics import default_window as metrics_window
from handlers.queues import FETCH_FAILED, board
from handlers.remedy_recheck import Rechecked, install, remember

log = logging.getLogger(__name__)

Section = Literal["api", "db", "redis", "payments", "slow"]
API, POSTGRES, REDIS = "api", "postgres", "redis"
PAYMENTS_QUEUE = "payments"
API_LOG_LINES = 100  # runbook: docker-compose logs api --tail=100
DB_LOG_LINES = 50  # runbook: docker-compose logs postgres --tail=50
WEBHOOK_WINDOW = timedelta(minutes=15)
WEBHOOK_TAIL = 20000  # lines read back from the last 15 minutes at most
FAILED_JOBS_FAIL = 10  # "Cola payments con muchos jobs fallidos"
TOP_REASONS = 3
SLOW_QUERIES = 5
PING_WARN_MS = 100.0
MEMORY_WARN, MEMORY_FAIL = 0.8, 0.95
CONNECTIONS_WARN, CONNECTIONS_FAIL = 0.75, 0.9
CACHE_WARN, CACHE_FAIL = 0.8, 0.5  # hit rate below these
ERROR_SHARE_FAIL = 0.5
SHOWN_LINES = 3
LINE_CHARS = 160
FINDINGS_TTL = int(timedelta(hours=2).total_seconds())
FINDINGS_CHARS = 2500  # one Slack section in the incident thread
INCIDENT_BUTTONS = 3
STORE_TIMEOUT = 2.0
ERROR_WORDS = re.compile(
    r"\b(error|err|exception|fatal|panic|unhandled|traceback|critical|econnrefused|etimedout|failed|failure)\b",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\s?")
_FINDINGS_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


class DiagnoseArgs(OpArgs):
    section: Section = positional(metavar="api|db|redis|payments|slow")


def _findings_id(value: str, info: ValidationInfo) -> str:
    if not _FINDINGS_ID.fullmatch(value):
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("diagnose.bad_id"))
    return value


FindingsId = Annotated[str, Field(max_length=40), AfterValidator(_findings_id)]


class PostArgs(OpArgs):
    id: FindingsId = positional(metavar="id")
    incident: IncidentRef = positional(metavar="incident")


# ---- steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A step's verdict, what was seen, and supporting detail shown below the verdicts."""

    state: CheckState
    detail: str
    blocks: tuple[Block, ...] = ()
    unseen: bool = False
    """Nothing to judge by since the plan's `since` (no log line since a restart): no verdict yet."""


Probe = Callable[[], Awaitable[Finding]]


@dataclass(frozen=True)
class Step:
    name: str
    probe: Probe
    timeout: float


@dataclass
class Plan:
    title: str
    steps: list[Step] = field(default_factory=list)
    remedies: list[Button] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    since: datetime | None = None
    """When set (the re-check after a remedy), log evidence counts only from this moment on."""
    only_if_bad: dict[str, str] = field(default_factory=dict)
    """A remedy's command → the step whose finding it remedies: offered only when that finding
    is not ok (no "Retry failed jobs" when none failed)."""

    def offered(self, checks: list[Check]) -> list[Button]:
        """The remedies that fit what was found."""
        bad = {c.name for c in checks if c.state != "ok"}
        return [b for b in self.remedies if b.command not in self.only_if_bad or self.only_if_bad[b.command] in bad]


@dataclass(frozen=True)
class Ran:
    check: Check
    blocks: tuple[Block, ...]
    seconds: float
    unseen: bool = False


def failure_text(ctx: OpContext, exc: BaseException) -> str:
    """A step's exception as the sentence its finding shows (redacted)."""
    if isinstance(exc, TargetError):
        text = ctx.t.text(exc.detail)
    elif isinstance(exc, BotError):
        text = ctx.t(exc.key, **exc.fields)
    else:
        text = short_error(exc)
    return ctx.deps.redact(text)


async def run_step(ctx: OpContext, step: Step) -> Ran:
    """One step under its own timeout; a failure or a hang is its verdict, never an exception."""
    started = time.perf_counter()
    blocks: tuple[Block, ...] = ()
    unseen = False
    try:
        async with asyncio.timeout(step.timeout):
            finding = await step.probe()
        state, detail, blocks, unseen = finding.state, finding.detail, finding.blocks, finding.unseen
    except TimeoutError:
        state, detail = "timeout", ctx.t("check.timeout", seconds=f"{step.timeout:g}")
    except Exception as exc:  # the step's own failure is its finding
        state, detail = "fail", failure_text(ctx, exc)
    seconds = time.perf_counter() - started
    return Ran(Check(step.name, state, detail, seconds * 1000), blocks, seconds, unseen)


async def log_lines(ctx: OpContext, plan: Plan, service: str, tail: int, window: timedelta | None) -> list[str]:
    """The service's last lines (within `window`); with `plan.since`, only those written after it,
    so a re-check after a restart never judges by the lines from before it."""
    docker = ctx.deps.docker
    assert docker is not None
    if plan.since is None:
        _, lines = await docker.logs(service, tail, since=window, timestamps=window is not None)
        return lines
    # the engine's `since` is whole seconds: read one more, then cut at the exact moment
    back = datetime.now(UTC) - plan.since + timedelta(seconds=1)
    _, lines = await docker.logs(service, tail, since=back, timestamps=True)
    kept = []
    for line in lines:
        moment, text = _stamp(line)
        if moment is not None and moment >= plan.since:
            kept.append(line if window is not None else text)
    return kept


def _short(line: str, width: int = LINE_CHARS) -> str:
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _stack_timeout(ctx: OpContext) -> float:
    return metrics_timeout(ctx)


# ---- shared probes -------------------------------------------------------------------------------


def container_step(ctx: OpContext, plan: Plan, service: str) -> None:
    docker = ctx.deps.docker
    name = ctx.t("diagnose.step.container", service=service)
    if docker is None or service not in ctx.config.services:
        plan.skipped.append(name)
        return

    async def probe() -> Finding:
        info = await docker.container_of(service)
        state = info.describe(ctx.t) + (f" ({info.health})" if info.health else "")
        detail = ctx.t("diagnose.container", name=info.name, state=state)
        if not info.running:
            return Finding("fail", detail)
        return Finding("warn" if info.health == "unhealthy" else "ok", detail)

    plan.steps.append(Step(name, probe, _stack_timeout(ctx)))


def log_errors_step(ctx: OpContext, plan: Plan, service: str, tail: int) -> None:
    docker = ctx.deps.docker
    name = ctx.t("diagnose.step.log_errors", service=service, lines=tail)
    if docker is None or service not in ctx.config.services:
        plan.skipped.append(name)
        return

    async def probe() -> Finding:
        lines = await log_lines(ctx, plan, service, tail, None)
        errors = [line for line in lines if ERROR_WORDS.search(line)]
        if not lines:
            return Finding("ok", ctx.t("diagnose.no_log_lines"), unseen=plan.since is not None)
        detail = ctx.t("diagnose.log_errors", errors=len(errors), lines=len(lines))
        if not errors:
            return Finding("ok", detail)
        state: CheckState = "fail" if len(errors) / len(lines) >= ERROR_SHARE_FAIL else "warn"
        shown = "\n".join(_short(ctx.deps.redact(line)) for line in errors[-SHOWN_LINES:])
        return Finding(state, detail, (Text(ctx.t("diagnose.last_errors", service=service)), Code(shown)))

    plan.steps.append(Step(name, probe, _stack_timeout(ctx)))


def health_step(ctx: OpContext, plan: Plan, check: str) -> None:
    api = ctx.config.stack.api
    path = api.health.get(check) if api else None
    name = ctx.t("diagnose.step.health", path=path or check)
    if api is None or path is None:
        plan.skipped.append(name)
        return
    url = api.base_url.rstrip("/") + path
    warn_ms = api.latency_warn.total_seconds() * 1000

    async def probe() -> Finding:
        found = await check_http(ctx.deps.http, check, url, _stack_timeout(ctx), ctx.t)
        if found.state != "ok":
            return Finding(found.state, found.detail)
        slow = found.latency_ms is not None and found.latency_ms > warn_ms
        if slow:
            return Finding("warn", ctx.t("diagnose.health_slow", detail=found.detail, limit=f"{warn_ms:.0f}"))
        return Finding("ok", found.detail)

    plan.steps.append(Step(name, probe, _stack_timeout(ctx) + 0.5))


# ---- sections ---------------------------------------------------------------------------------------


def plan_api(ctx: OpContext, plan: Plan) -> None:
    container_step(ctx, plan, API)
    log_errors_step(ctx, plan, API, API_LOG_LINES)
    health_step(ctx, plan, "api")
    prefix, t = ctx.prefix, ctx.t
    plan.remedies = [
        Button(t("diagnose.remedy.restart", service=API), f"{prefix} restart {API}", style="danger"),
        Button(t("diagnose.remedy.logs", service=API), f"{prefix} logs {API} --tail {API_LOG_LINES}"),
    ]


def plan_db(ctx: OpContext, plan: Plan) -> None:
    container_step(ctx, plan, POSTGRES)
    log_errors_step(ctx, plan, POSTGRES, DB_LOG_LINES)
    name = ctx.t("diagnose.step.connections")
    if ctx.deps.target_db is None or ctx.config.stack.postgres is None:
        plan.skipped.append(name)
    else:
        plan.steps.append(Step(name, lambda: connections_probe(ctx), _stack_timeout(ctx)))
    health_step(ctx, plan, "db")
    prefix, t = ctx.prefix, ctx.t
    plan.remedies = [
        Button(t("diagnose.remedy.restart", service=POSTGRES), f"{prefix} restart {POSTGRES}", style="danger"),
        Button(t("diagnose.remedy.connections"), f"{prefix} db connections"),
    ]


async def connections_probe(ctx: OpContext) -> Finding:
    async with stack_db(ctx) as conn:
        rows = await conn.fetch(
            "SELECT coalesce(state, '—') AS state, count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 2 DESC"
        )
        total, limit = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
            " current_setting('max_connections')::int"
        )
    states = ", ".join(f"{r['n']} {r['state']}" for r in rows) or "—"
    mine = sum(int(r["n"]) for r in rows)
    usage = total / limit if limit else 0.0
    detail = ctx.t("diagnose.connections", count=mine, db=database_name(ctx), states=states, total=total, max=limit)
    state: CheckState = "fail" if usage >= CONNECTIONS_FAIL else "warn" if usage >= CONNECTIONS_WARN else "ok"
    return Finding(state, detail)


def plan_redis(ctx: OpContext, plan: Plan) -> None:
    container_step(ctx, plan, REDIS)
    redis = ctx.deps.target_redis
    ping_name, memory_name = ctx.t("diagnose.step.ping"), ctx.t("diagnose.step.memory")
    if redis is None:
        plan.skipped += [ping_name, memory_name]
    else:

        async def ping() -> Finding:
            started = time.perf_counter()
            await redis.ping()
            ms = (time.perf_counter() - started) * 1000
            detail = ctx.t("diagnose.ping", ms=ctx.t.number(ms, 1))
            return Finding("warn" if ms > PING_WARN_MS else "ok", detail)

        async def memory() -> Finding:
            info: dict[str, Any] = await redis.info("memory")
            used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
            human = str(info.get("used_memory_human", used))
            if not limit:
                return Finding("ok", ctx.t("diagnose.memory_unbounded", used=human))
            share = used / limit
            detail = ctx.t(
                "diagnose.memory",
                used=human,
                max=str(info.get("maxmemory_human", limit)),
                share=fmt_share(share, ctx.t.locale),
            )
            state: CheckState = "fail" if share >= MEMORY_FAIL else "warn" if share >= MEMORY_WARN else "ok"
            return Finding(state, detail)

        plan.steps += [Step(ping_name, ping, _stack_timeout(ctx)), Step(memory_name, memory, _stack_timeout(ctx))]
    health_step(ctx, plan, "redis")
    prefix, t = ctx.prefix, ctx.t
    plan.remedies = [
        Button(t("diagnose.remedy.restart", service=REDIS), f"{prefix} restart {REDIS}", style="danger"),
        Button(t("diagnose.remedy.cache_stats"), f"{prefix} cache stats"),
    ]


def _stamp(line: str) -> tuple[datetime | None, str]:
    """Split the engine's RFC 3339 timestamp off a log line."""
    match = _TIMESTAMP.match(line)
    if not match:
        return None, line
    micro = ((match.group(2) or "") + "000000")[:6]
    moment = datetime.fromisoformat(match.group(1)).replace(microsecond=int(micro), tzinfo=UTC)
    return moment, line[match.end() :]


def plan_payments(ctx: OpContext, plan: Plan) -> None:
    t, prefix = ctx.t, ctx.prefix
    docker = ctx.deps.docker
    webhooks = t("diagnose.step.webhooks", minutes=int(WEBHOOK_WINDOW.total_seconds() // 60))
    if docker is None or API not in ctx.config.services:
        plan.skipped.append(webhooks)
    else:

        async def webhook_lines() -> Finding:
            lines = await log_lines(ctx, plan, API, WEBHOOK_TAIL, WEBHOOK_WINDOW)
            found = [_stamp(line) for line in lines if "webhook" in line.lower()]
            span = WEBHOOK_WINDOW if plan.since is None else datetime.now(UTC) - plan.since
            window = t.duration(timedelta(seconds=max(1, round(span.total_seconds()))))
            if not found:
                return Finding("warn", t("diagnose.webhooks_none", window=window), unseen=plan.since is not None)
            errors = [text for _, text in found if ERROR_WORDS.search(text)]
            last = found[-1][0]
            ago = t.ago(datetime.now(UTC) - last) if last else "?"
            detail = t("diagnose.webhooks", count=len(found), window=window, ago=ago, errors=len(errors))
            if not errors:
                return Finding("ok", detail)
            shown = "\n".join(_short(ctx.deps.redact(text)) for text in errors[-SHOWN_LINES:])
            state: CheckState = "fail" if len(errors) == len(found) else "warn"
            return Finding(state, detail, (Text(t("diagnose.webhook_errors")), Code(shown)))

        plan.steps.append(Step(webhooks, webhook_lines, _stack_timeout(ctx)))
    failed_name = t("diagnose.step.failed_jobs", queue=PAYMENTS_QUEUE)
    if ctx.config.stack.bull_board is None:
        plan.skipped.append(failed_name)
    else:

        async def failed_jobs() -> Finding:
            queues = await board(ctx).queues(active=PAYMENTS_QUEUE, status="failed", per_page=FETCH_FAILED)
            queue = next((q for q in queues if q.name == PAYMENTS_QUEUE), None)
            if queue is None:
                return Finding("fail", t("bull.queue_not_found", queue=PAYMENTS_QUEUE))
            failed = queue.counts.failed
            if not failed:
                return Finding("ok", t("diagnose.failed_none", queue=PAYMENTS_QUEUE))
            reasons = Counter(
                ctx.deps.redact((job.failed_reason or "").strip().splitlines()[0].strip())
                if (job.failed_reason or "").strip()
                else t("queue.no_reason")
                for job in queue.jobs
            )
            top = "; ".join(f"{_short(reason, 80)} ×{count}" for reason, count in reasons.most_common(TOP_REASONS))
            detail = t("diagnose.failed_jobs", count=failed, queue=PAYMENTS_QUEUE, reasons=top or "—")
            return Finding("fail" if failed >= FAILED_JOBS_FAIL else "warn", detail)

        plan.steps.append(Step(failed_name, failed_jobs, _stack_timeout(ctx)))
    retry = f"{prefix} queue retry {PAYMENTS_QUEUE} all"
    plan.only_if_bad[retry] = failed_name
    plan.remedies = [
        Button(t("diagnose.remedy.retry", queue=PAYMENTS_QUEUE), retry, style="danger"),
        Button(t("diagnose.remedy.restart", service=API), f"{prefix} restart {API}", style="danger"),
        Button(t("diagnose.remedy.webhook_logs"), f"{prefix} logs {API} --grep webhook --since 15m"),
        Button(t("diagnose.remedy.queue", queue=PAYMENTS_QUEUE), f"{prefix} queue {PAYMENTS_QUEUE}"),
    ]


def plan_slow(ctx: OpContext, plan: Plan) -> None:
    """The runbook curls /metrics twice (latency, then cache hit rate); one observation serves both."""
    t, prefix = ctx.t, ctx.prefix
    api = ctx.config.stack.api
    latency_name, queries_name, cache_name = (
        t("diagnose.step.latency"),
        t("diagnose.step.slow_queries"),
        t("diagnose.step.cache"),
    )
    shared: asyncio.Task[Observation] | None = None
    window = metrics_window(ctx)

    async def observation() -> Observation:
        nonlocal shared
        if shared is None:
            shared = asyncio.ensure_future(observe(ctx, window))
        return await asyncio.shield(shared)

    def cancel_shared() -> None:
        if shared is not None and not shared.done():
            shared.cancel()

    plan.cleanups.append(cancel_shared)
    metrics_step_timeout = _stack_timeout(ctx) * 2 + window  # two scrapes and the window between them
    if api is None:
        plan.skipped += [latency_name, cache_name]
    else:
        warn_s, fail_s = api.latency_warn.total_seconds(), api.latency_fail.total_seconds()

        async def latency() -> Finding:
            report = latency_report(await observation())
            if report is None:
                return Finding("warn", t("metrics.no_latency", name="http_request_duration_seconds"))
            worst = report.worst
            if worst is None:
                return Finding("ok", t("metrics.no_requests"))
            p50, p95, p99 = worst.quantiles
            detail = t(
                "diagnose.latency",
                route=worst.route,
                p50=fmt_seconds(p50, t.locale),
                p95=fmt_seconds(p95, t.locale),
                p99=fmt_seconds(p99, t.locale),
                routes=len(report.routes),
                basis=t("diagnose.basis.window", seconds=t.number(report.window or 0, 1))
                if worst.windowed
                else t("diagnose.basis.start"),
            )
            state: CheckState = "fail" if p95 >= fail_s else "warn" if p95 >= warn_s else "ok"
            return Finding(state, detail, (latency_table(t, report), Text(window_note(t, report))))

        plan.steps.append(Step(latency_name, latency, metrics_step_timeout))
    if ctx.deps.target_db is None or ctx.config.stack.postgres is None:
        plan.skipped.append(queries_name)
    else:
        warn_ms = (api.latency_warn.total_seconds() if api else 0.5) * 1000
        fail_ms = (api.latency_fail.total_seconds() if api else 2.0) * 1000

        async def queries() -> Finding:
            async with stack_db(ctx) as conn:
                found = await slow_statements(conn, SLOW_QUERIES)
            db = database_name(ctx)
            if found.missing is not None:
                return Finding("warn", t(found.missing, db=db, preload=found.preload or "''"))
            if not found.rows:
                return Finding("ok", t("db.slow.empty", db=db))
            worst = float(found.rows[0]["mean"])
            detail = t(
                "diagnose.slow_queries", db=db, worst=t.number(worst, 1), query=_short(found.rows[0]["query"], 80)
            )
            table = Table(
                t("db.slow.columns").split("|"),
                [
                    [f"{r['mean']:.1f}", str(r["calls"]), f"{r['total']:.0f}", str(r["rows"]), _short(r["query"], 80)]
                    for r in found.rows
                ],
            )
            state: CheckState = "fail" if worst >= fail_ms else "warn" if worst >= warn_ms else "ok"
            return Finding(state, ctx.deps.redact(detail), (table,))

        plan.steps.append(Step(queries_name, queries, _stack_timeout(ctx)))
    if api is not None:

        async def cache() -> Finding:
            rates = cache_rates((await observation()).now)
            if rates:
                label, rate = rates[0]
                source = label
            elif ctx.deps.target_redis is not None:
                info: dict[str, Any] = await ctx.deps.target_redis.info("stats")
                hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
                if not hits + misses:
                    return Finding("ok", t("diagnose.cache_unknown"))
                rate, source = hits / (hits + misses), t("diagnose.cache_from_redis")
            else:
                return Finding("warn", t("diagnose.cache_unknown"))
            state: CheckState = "fail" if rate < CACHE_FAIL else "warn" if rate < CACHE_WARN else "ok"
            return Finding(state, t("diagnose.cache", rate=fmt_share(rate, t.locale), source=source))

        plan.steps.append(Step(cache_name, cache, metrics_step_timeout))
    plan.remedies = [
        Button(t("diagnose.remedy.slow_queries"), f"{prefix} db slow 10"),
        Button(t("diagnose.remedy.latency"), f"{prefix} metrics latency"),
        Button(t("diagnose.remedy.cache_stats"), f"{prefix} cache stats"),
    ]


PLANS: dict[str, Callable[[OpContext, Plan], None]] = {
    "api": plan_api,
    "db": plan_db,
    "redis": plan_redis,
    "payments": plan_payments,
    "slow": plan_slow,
}


# ---- the command ------------------------------------------------------------------------------------


async def open_incidents(ctx: OpContext) -> list[Incident]:
    """Open incidents, newest first; none when the bot's database cannot say (the findings still come)."""
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            recent = await ctx.deps.incidents.recent(INCIDENT_BUTTONS * 2)
    except Exception as exc:
        log.info("diagnose: incidents unreadable (%s); no 'Add to' button", short_error(exc))
        return []
    return [i for i in recent if i.state != "resolved"][:INCIDENT_BUTTONS]


def findings_key(ctx: OpContext, findings_id: str) -> str:
    return f"{ctx.deps.settings.redis_prefix}diagnosis:{findings_id}"


async def keep_findings(ctx: OpContext, section: str, text: str) -> str | None:
    """Park the findings' text for the "Add to INC" button; None when the bot's Redis is down."""
    findings_id = new_id(12)
    value = f"{section}\n{text[:FINDINGS_CHARS]}"
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            await ctx.deps.redis.set(findings_key(ctx, findings_id), value, ex=FINDINGS_TTL)
    except (RedisError, OSError, TimeoutError) as exc:
        log.info("diagnose: findings not kept (%s); no 'Add to' button", short_error(exc))
        return None
    return findings_id


async def offerable(ctx: OpContext, remedies: list[Button]) -> tuple[list[Button], list[Text]]:
    """The remedies the caller may run, as buttons; the others named in one line per role with
    who holds it: a viewer is not handed a Restart button that only answers "you may not"."""
    kept: list[Button] = []
    refused: dict[str, list[str]] = {}
    for button in remedies:
        try:
            words = split_words(button.command, ctx.t)[1:]
            op = find_operation(words, REGISTRY, ctx.prefix, ctx.t).operation
        except BotError:
            kept.append(button)
            continue
        if ctx.deps.roles.allows(ctx.role, op):
            kept.append(button)
        else:
            refused.setdefault(ctx.deps.roles.required(op), []).append(button.label)
    lines: list[Text] = []
    for needed, labels in refused.items():
        who = ", ".join(await ctx.deps.roles.holders(needed)) or f"ops.yml roles.{needed}"
        text = ctx.t("diagnose.remedy.needs_role", needed=ctx.t(f"role.{needed}"), who=who, labels=" · ".join(labels))
        lines.append(Text(text))
    return kept, lines


async def run_section(ctx: OpContext, section: str, since: datetime | None = None) -> tuple[Plan, list[Ran]]:
    """Every step of one section at once, each under its own timeout; with `since`, log evidence
    only from that moment on."""
    t = ctx.t
    plan = Plan(title=t("diagnose.title", section=t("diagnose.section." + section)), since=since)
    PLANS[section](ctx, plan)
    try:
        ran = await asyncio.gather(*(run_step(ctx, step) for step in plan.steps))
    finally:
        for cleanup in plan.cleanups:
            cleanup()
    return plan, list(ran)


async def rerun_checks(ctx: OpContext, section: str, since: datetime) -> Rechecked:
    """The section's verdicts again, judged only by what happened since the remedy started."""
    _, ran = await run_section(ctx, section, since)
    return Rechecked([r.check for r in ran if not r.unseen], [r.check.name for r in ran if r.unseen])


@operation("diagnose", DiagnoseArgs, timeout=120)
async def diagnose(ctx: OpContext, args: DiagnoseArgs) -> Result:
    """Run a runbook troubleshooting section at once: every finding with a verdict, then its remedies."""
    t = ctx.t
    started = time.perf_counter()
    incidents_task = asyncio.ensure_future(open_incidents(ctx))
    plan, ran = await run_section(ctx, args.section)
    took = time.perf_counter() - started
    incidents = await incidents_task
    checks = [r.check for r in ran]
    bad = [c for c in checks if c.state != "ok"]
    if not checks:
        summary = t("check.nothing")
    elif bad:
        summary = t("diagnose.summary.bad", bad=len(bad), count=len(checks), names=", ".join(c.name for c in bad))
    else:
        summary = t("diagnose.summary.ok", count=len(checks))
    timing = t(
        "diagnose.timing",
        count=len(checks),
        took=took,
        sequential=sum(r.seconds for r in ran),
    )
    blocks: list[Block] = [Text(summary), Checks(checks)]
    for r in ran:
        blocks.extend(r.blocks)
    if plan.skipped:
        blocks.append(Text(t("diagnose.skipped", names=", ".join(plan.skipped))))
    blocks.append(Text(timing))
    remedies = plan.offered(checks)
    buttons, not_offered = await offerable(ctx, remedies)
    blocks.extend(not_offered)
    await remember(ctx, args.section, remedies, checks)
    if incidents and checks:
        plain = render_text(Result(plan.title, [Text(summary), Checks(checks)])).text
        findings_id = await keep_findings(ctx, args.section, plain)
        if findings_id is not None:
            buttons += [
                Button(t("diagnose.add_to", ref=i.ref), f"{ctx.prefix} diagnose post {findings_id} {i.id}")
                for i in incidents
            ]
    if buttons:
        blocks.append(Buttons(buttons))
    return Result(title=plan.title, blocks=blocks, ok=not bad and bool(checks), summary=summary)


@operation("diagnose post", PostArgs, hidden=True)
async def post_findings(ctx: OpContext, args: PostArgs) -> Result:
    """Post kept findings into an incident's thread (the "Add to INC-n" button of diagnose)."""
    t = ctx.t
    key = findings_key(ctx, args.id)
    incident = await ctx.deps.incidents.get(args.incident)
    if incident is None:
        raise BotError("incident.not_found", ref=f"INC-{args.incident}")
    posted = f"{key}:posted:{incident.id}"
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            raw = await ctx.deps.redis.get(key)
            # Once per findings and incident, whichever replica gets the second click.
            first = raw is not None and await ctx.deps.redis.set(posted, "1", ex=FINDINGS_TTL, nx=True)
    except (RedisError, OSError, TimeoutError) as exc:
        operation = f"{ctx.prefix} diagnose post"
        raise UnavailableError(part=t("part.redis"), operation=operation, detail=short_error(exc)) from None
    if raw is None:
        message = t("diagnose.findings_expired")
        return Result(title="", blocks=[Text(message)], ok=False, ephemeral=True, summary=message)
    if not first:
        message = t("diagnose.already_posted", ref=incident.ref)
        return Result(title="", blocks=[Text(message)], ephemeral=True, summary=message)
    section, _, text = (raw.decode() if isinstance(raw, bytes) else str(raw)).partition("\n")
    payload = {"event": "diagnosis", "user": ctx.user_id, "section": section, "text": text}
    try:
        async with ctx.deps.db.connection() as conn:
            await ctx.deps.incidents.note(conn, incident.id, payload)
    except BaseException:
        await ctx.deps.redis.delete(posted)  # not posted: a later click may try again
        raise
    worker = getattr(ctx.deps, "escalation", None)
    if worker is not None:
        worker.wake()
    message = t("diagnose.posted", ref=incident.ref)
    return Result(title="", blocks=[Text(message)], ephemeral=True, summary=message)


# The remedies that change something: after one ran, its section is run again (remedy_recheck).
install(["restart", "queue retry"], rerun_checks)
