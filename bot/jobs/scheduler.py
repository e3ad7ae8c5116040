"""Jobs on a cron schedule (the runbook's "Cronjob configurado"), run by one replica only.

    @scheduled("db backup", lambda config: config.stack.backups.schedule if config.stack.backups else None)
    async def daily_backup(ctx: OpContext) -> Result: ...

Every replica runs a `Scheduler`; at each slot (the cron line read in ops.yml `timezone`,
so "0 2 * * *" is 2 AM Santiago time through daylight saving changes) every replica tries
to insert the row (job, slot) into `scheduled_runs`, and only the one whose insert lands
runs the job. A row rather than an advisory lock: a lock only excludes replicas while it is
held, so a replica whose clock is a second late would take it after the first released it
and run the same slot again; the row says "this slot is taken" for good, and is the
history of scheduled runs besides. When the bot's database is down no replica can claim,
so none runs: each alerts instead of all running at once.

The clock is injected (tests move time instead of waiting for 2 AM), and so is `notify`:
the Slack side wires it (`notify_via`) to queue the result for the incident channel in the
escalation worker's durable step queue, with `alert` set when the job failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

import asyncpg
from croniter import croniter

from bot.config.ops_yml import OpsConfig
from bot.core.audit import AuditEntry
from bot.core.context import OpContext
from bot.core.deps import Deps
from bot.output.results import Result, Text, redact_result
from bot.output.slack import escape
from bot.output.terminal import render_text
from bot.storage.cancel import stop_if_cancelled
from bot.storage.database import short_error
from bot.storage.incidents import PlannedStep
from bot.text.errors import BotError, UnavailableError
from bot.text.messages import Catalog

if TYPE_CHECKING:
    from bot.incidents.notify import Notifier

log = logging.getLogger(__name__)

MAX_SLEEP = 300.0
MISSED_GRACE = timedelta(hours=1)
DEFAULT_JOB_TIMEOUT = 6 * 3600.0
SCHEDULER_USER = "scheduler"

CronOf = Callable[[OpsConfig], str | None]
JobFunc = Callable[[OpContext], Awaitable[Result]]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: CronOf
    run: JobFunc
    timeout: float = DEFAULT_JOB_TIMEOUT


JOBS: dict[str, ScheduledJob] = {}


def scheduled(
    name: str, cron: CronOf, *, timeout: float = DEFAULT_JOB_TIMEOUT, jobs: dict[str, ScheduledJob] | None = None
) -> Callable[[JobFunc], JobFunc]:
    """Declare `func` as the job `name`, on the cron line `cron(config)` returns (None: not scheduled)."""

    def decorate(func: JobFunc) -> JobFunc:
        registry = JOBS if jobs is None else jobs
        if name in registry:
            raise ValueError(f"scheduled job {name!r} declared twice")
        registry[name] = ScheduledJob(name, cron, func, timeout)
        return func

    return decorate


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Notice:
    """What a scheduled run has to say; `alert` = it failed and the incident channel must know."""

    job: str
    slot: datetime
    result: Result
    alert: bool
    channel: str | None


Notify = Callable[[Notice], Awaitable[None]]


async def log_notice(notice: Notice) -> None:
    level = logging.ERROR if notice.alert else logging.INFO
    log.log(level, "scheduled %s (%s): %s", notice.job, notice.slot.isoformat(), notice.result.summary)


MAX_NOTICE_CHARS = 3500


def notice_text(notice: Notice, deps: Deps) -> str:
    """The notice as the Slack text the escalation worker posts: escaped, redacted, the alert first."""
    t = Catalog(deps.config.locale)
    result = redact_result(notice.result, deps.redact)
    lines = []
    if notice.alert:
        lines.append(escape(t("schedule.alert", job=notice.job, prefix=deps.config.slack.command)))
    if result.title:
        lines.append(f"*{escape(result.title)}*")
    body = render_text(replace(result, title="")).text
    if body:
        lines.append(escape(body))
    return "\n".join(lines)[:MAX_NOTICE_CHARS]


def notify_via(notifier: Notifier, deps: Deps) -> Notify:
    """Queue a scheduled run's result for the incident channel as a durable escalation step (a
    `note` of no incident), so the escalation worker retries it until Slack takes it: an alert
    must not be lost because Slack was down at the minute the backup failed, with the next
    run a day away. Only when the bot's database cannot take the step either (a notice that
    the job could not be claimed, say) is it posted directly, once."""
    t = Catalog(deps.config.locale)

    async def post(notice: Notice) -> None:
        if notice.channel is None:
            await log_notice(notice)
            return
        payload = {
            "event": "scheduled",
            "job": notice.job,
            "slot": notice.slot.isoformat(),
            "alert": notice.alert,
            "text": notice_text(notice, deps),
        }
        try:
            async with deps.db.connection() as conn, conn.transaction():
                now = await deps.incidents.now(conn)
                await deps.incidents.insert_steps(conn, None, [PlannedStep("note", payload, now)])
        except (UnavailableError, asyncpg.PostgresError, OSError) as exc:
            stop_if_cancelled()
            log.warning("scheduled %s: notice not queued (%s); posting it directly", notice.job, short_error(exc))
            result = notice.result
            if notice.alert:
                alert = Text(t("schedule.alert", job=notice.job, prefix=deps.config.slack.command))
                result = replace(result, blocks=[alert, *result.blocks])
            await notifier.post(notice.channel, redact_result(result, deps.redact))
            return
        if deps.escalation is not None:
            deps.escalation.wake()
        await log_notice(notice)

    return post


def next_slot(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names, read in `timezone`; returned in UTC.

    A wall-clock time that happens twice (the hour repeated when the clocks go back) is a slot
    once, at its first occurrence: croniter names both, so `30 23 * * *` in Santiago ran twice
    on the April night. A time the clocks skip runs once, when croniter places it (after the jump)."""
    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    schedule = croniter(cron, local)
    while True:
        following: datetime = schedule.get_next(datetime)
        wall = following.astimezone(tz).replace(tzinfo=None)
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if first >= following.astimezone(UTC):
            return following.astimezone(UTC)


@dataclass
class Scheduler:
    deps: Deps
    jobs: dict[str, ScheduledJob] = field(default_factory=lambda: JOBS)
    clock: Clock = field(default_factory=SystemClock)
    notify: Notify = log_notice
    replica: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")

    @property
    def config(self) -> OpsConfig:
        return self.deps.config

    def cron_of(self, job: ScheduledJob) -> str | None:
        return job.cron(self.config)

    async def claim(self, job: ScheduledJob, slot: datetime) -> bool:
        """True for exactly one replica per (job, slot); raises UnavailableError when the database is down."""
        async with self.deps.db.connection() as conn:
            claimed = await conn.fetchval(
                "INSERT INTO scheduled_runs (job, slot, replica) VALUES ($1, $2, $3)"
                " ON CONFLICT (job, slot) DO NOTHING RETURNING replica",
                job.name,
                slot,
                self.replica,
            )
        return claimed is not None

    async def _finish(self, job: ScheduledJob, slot: datetime, result: Result) -> None:
        try:
            async with self.deps.db.connection() as conn:
                await conn.execute(
                    "UPDATE scheduled_runs SET finished_at = now(), outcome = $3, detail = $4"
                    " WHERE job = $1 AND slot = $2",
                    job.name,
                    slot,
                    "ok" if result.ok else "failed",
                    self.deps.redact(result.summary)[:2000],
                )
        except (UnavailableError, OSError) as exc:
            log.warning("could not record the end of scheduled %s: %s", job.name, short_error(exc))

    def context(self) -> OpContext:
        return OpContext(
            deps=self.deps,
            user_id=SCHEDULER_USER,
            channel_id=None,
            request_id=uuid.uuid4().hex[:12],
            source="schedule",
            role=None,
            t=Catalog(self.config.locale),
        )

    async def fire(self, job: ScheduledJob, slot: datetime) -> Result | None:
        """Run `job` for `slot` if this replica claims it; None when another replica has it."""
        t = Catalog(self.config.locale)
        try:
            if not await self.claim(job, slot):
                log.info("scheduled %s at %s: another replica has it", job.name, slot.isoformat())
                return None
        except Exception as exc:
            detail = self.deps.redact(short_error(exc))
            text = t("schedule.unclaimed", job=job.name, detail=detail)
            result = Result(title=t("schedule.title", job=job.name), blocks=[Text(text)], ok=False, summary=text)
            await self._notify(job, slot, result)
            return result
        ctx = self.context()
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(job.run(ctx), job.timeout)
        except TimeoutError:
            text = t("error.timeout", operation=job.name, seconds=f"{job.timeout:g}")
            result = Result(title=t("schedule.title", job=job.name), blocks=[Text(text)], ok=False, summary=text)
        except Exception as exc:
            if isinstance(exc, BotError):
                text = self.deps.redact(t(exc.key, **exc.fields))
            else:
                log.exception("scheduled %s failed (request %s)", job.name, ctx.request_id)
                text = t("error.internal", error_id=ctx.request_id)
            result = Result(title=t("schedule.title", job=job.name), blocks=[Text(text)], ok=False, summary=text)
        await self._finish(job, slot, result)
        await self._audit(ctx, job, slot, result, started)
        await self._notify(job, slot, result)
        return result

    async def _audit(self, ctx: OpContext, job: ScheduledJob, slot: datetime, result: Result, started: float) -> None:
        try:
            await self.deps.audit.record(
                AuditEntry(
                    request_id=ctx.request_id,
                    user_id=SCHEDULER_USER,
                    channel_id=None,
                    source="schedule",
                    operation=job.name,
                    arguments={"slot": slot.isoformat()},
                    decision="scheduled",
                    outcome="ok" if result.ok else "failed",
                    detail=result.summary or None,
                    duration_ms=int((time.perf_counter() - started) * 1000),
                )
            )
        except UnavailableError:
            log.warning("audit row for scheduled %s not written (bot database down)", job.name)

    async def _notify(self, job: ScheduledJob, slot: datetime, result: Result) -> None:
        notice = Notice(job.name, slot, result, alert=not result.ok, channel=self.config.slack.incident_channel)
        try:
            await self.notify(notice)
        except Exception as exc:
            log.error("could not post the result of scheduled %s: %s", job.name, self.deps.redact(short_error(exc)))

    async def run_job(self, job: ScheduledJob, max_runs: int | None = None) -> None:
        """Wait for each slot of `job` and fire it; slots missed by more than MISSED_GRACE are skipped."""
        cron = self.cron_of(job)
        if not cron:
            return
        if not croniter.is_valid(cron):
            log.error("scheduled %s: %r is not a cron line; the job will not run", job.name, cron)
            return
        after = self.clock.now()
        runs = 0
        while max_runs is None or runs < max_runs:
            slot = next_slot(cron, self.config.timezone, after)
            while (remaining := (slot - self.clock.now()).total_seconds()) > 0:
                await self.clock.sleep(min(remaining, MAX_SLEEP))
            after = slot
            if self.clock.now() - slot > MISSED_GRACE:
                log.warning("scheduled %s: slot %s missed by more than %s, skipped", job.name, slot, MISSED_GRACE)
                continue
            try:
                await self.fire(job, slot)
            except Exception:
                stop_if_cancelled()
                log.exception("scheduled %s at %s", job.name, slot.isoformat())
            runs += 1

    async def run(self) -> None:
        """Every job that has a schedule in ops.yml, until cancelled."""
        await asyncio.gather(*(self.run_job(job) for job in self.jobs.values() if self.cron_of(job)))
