"""Runbook "Incidente: Pagos no procesándose": look at a queue's failed jobs, then retry them.

`curl /admin/queues/payments` becomes `/ops queue payments` (counts, failed jobs and their
reasons grouped), and "Reintentar jobs via Bull Board UI" becomes `/ops queue retry
payments [job-id|all]`, whose preview counts for real what a retry would move, so the
person confirming sees "12 jobs, 10 of them card declined" before saying yes.

Queue names and job ids are validated before anything is sent (configured queues only;
ids of letters, digits and `_ . : -`, never `/` or `..`) and are percent-encoded in the URL
as well, so a typed id can never reach another Bull Board route.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from bot.config.ops_yml import OpsConfig
from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation, preview_for
from bot.core.verify import check, verified
from bot.output.results import Block, Check, Fields, Result, Table, Text
from bot.targets.bull_board import (
    FAILED,
    SERVICE,
    BoardHTTPError,
    BoardJob,
    BoardQueue,
    BullBoardClient,
    JobCounts,
)
from bot.text.errors import BotError, TargetError, UsageError
from bot.text.messages import Catalog
from handlers.queue_checks import TRACK_JOBS, failure_times, retry_checks, settle

DEFAULT_TIMEOUT = 5.0
ALL = "all"
FETCH_FAILED = 200  # failed jobs read to group reasons: enough to see the pattern, small enough to be quick
SHOW_FAILED = 20  # rows of the failed-jobs table
TOP_REASONS = 5
REASON_WIDTH = 80

_SAFE_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}")
_SAFE_JOB = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def _context(info: ValidationInfo) -> tuple[OpsConfig | None, Catalog]:
    context = info.context or {}
    return context.get("config"), context.get("t") or Catalog()


def _queue_name(value: str, info: ValidationInfo) -> str:
    """A configured queue; with none configured, any safe name (the board is asked later)."""
    config, t = _context(info)
    board = config.stack.bull_board if config else None
    configured = board.queues if board else []
    if value in configured:
        return value
    if configured:
        raise ValueError(t("arg.unknown_queue", queues=", ".join(configured)))
    if not _SAFE_QUEUE.fullmatch(value) or ".." in value:
        raise ValueError(t("arg.bad_queue"))
    return value


def _job_ref(value: str, info: ValidationInfo) -> str:
    if value.lower() == ALL:
        return ALL
    if not _SAFE_JOB.fullmatch(value) or ".." in value:
        _, t = _context(info)
        raise ValueError(t("arg.bad_job_id"))
    return value


QueueName = Annotated[str, Field(max_length=100), AfterValidator(_queue_name)]
JobRef = Annotated[str, Field(max_length=128), AfterValidator(_job_ref)]


class QueueArgs(OpArgs):
    name: QueueName | None = positional(None, metavar="name")


class RetryArgs(OpArgs):
    name: QueueName = positional(metavar="name")
    job: JobRef = positional(ALL, metavar="job-id|all")


def board(ctx: OpContext) -> BullBoardClient:
    """The configured board, with the stack's API timeout (stack.api.timeout, 5 s by default)."""
    config = ctx.config.stack.bull_board
    if config is None:
        raise BotError("error.not_configured", key="stack.bull_board")
    api = ctx.config.stack.api
    timeout = api.timeout.total_seconds() if api else DEFAULT_TIMEOUT
    return BullBoardClient(ctx.deps.http, config, timeout, ctx.t)


def _pick(ctx: OpContext, queues: Sequence[BoardQueue], name: str, op_name: str) -> BoardQueue:
    """`name` among the board's queues; a configured queue the board lacks is the board's fault."""
    for queue in queues:
        if queue.name == name:
            return queue
    board_config = ctx.config.stack.bull_board
    if board_config is not None and board_config.queues:
        raise TargetError(SERVICE, ctx.t("bull.queue_not_found", queue=name))
    known = ", ".join(q.name for q in queues) or "—"
    op = ctx.deps.registry.get(op_name)
    detail = ctx.t("arg.invalid", field="name", detail=ctx.t("arg.unknown_queue", queues=known))
    raise UsageError(detail=detail, usage=op.usage(ctx.prefix) if op else op_name)


async def _with_failed(ctx: OpContext, client: BullBoardClient, name: str, op_name: str) -> BoardQueue:
    """Counts of every queue, plus the newest failed jobs of `name`: one request."""
    queues = await client.queues(active=name, status=FAILED, per_page=FETCH_FAILED)
    return _pick(ctx, queues, name, op_name)


# ---- formatting -------------------------------------------------------------------------


def _count_label(t: Catalog, index: int, name: str) -> str:
    """The translated header of count `index` (after the QUEUE column); the raw name if missing."""
    labels = t("queue.columns").split("|")[1:]
    return labels[index] if index < len(labels) else name


def _one_line(text: str, width: int = REASON_WIDTH) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _reason(ctx: OpContext, job: BoardJob) -> str:
    first = (job.failed_reason or "").strip().splitlines()
    return ctx.deps.redact(first[0].strip()) if first else ctx.t("queue.no_reason")


def _ago(ctx: OpContext, millis: int | None, now: float) -> str:
    """`3m`, `2h`: the largest unit only, as people say it in an incident channel."""
    if millis is None:
        return "—"
    seconds = round(max(now - millis / 1000, 0.0))
    return ctx.t.ago(timedelta(seconds=seconds))


def _reasons_block(ctx: OpContext, queue: BoardQueue) -> Text:
    """`card declined ×12` lines, most common first, over the failed jobs that were read."""
    counted = Counter(_reason(ctx, job) for job in queue.jobs)
    lines = [f"• {_one_line(reason)} ×{count}" for reason, count in counted.most_common(TOP_REASONS)]
    if len(counted) > TOP_REASONS:
        lines.append(ctx.t("queue.reasons_more", count=len(counted) - TOP_REASONS))
    if queue.counts.failed > len(queue.jobs):
        heading = ctx.t("queue.reasons_newest", read=len(queue.jobs), total=queue.counts.failed)
    else:
        heading = ctx.t("queue.reasons")
    return Text("\n".join([heading, *lines]))


def _jobs_table(ctx: OpContext, queue: BoardQueue) -> Table:
    now = time.time()
    rows = [
        [job.id, _ago(ctx, job.failed_at, now), str(job.tries(queue.type)), _one_line(_reason(ctx, job))]
        for job in queue.jobs[:SHOW_FAILED]
    ]
    return Table(ctx.t("queue.jobs_columns").split("|"), rows)


def _counts_fields(ctx: OpContext, counts: JobCounts) -> Fields:
    return Fields([(_count_label(ctx.t, i, name), str(value)) for i, (name, value) in enumerate(counts.as_pairs())])


# ---- /ops queue [name] --------------------------------------------------------------------


@operation("queue", QueueArgs)
async def queue(ctx: OpContext, args: QueueArgs) -> Result:
    """Job counts of the queues, or one queue's failed jobs and their reasons."""
    client = board(ctx)
    if args.name is None:
        return await _all_queues(ctx, client)
    found = await _with_failed(ctx, client, args.name, "queue")
    t = ctx.t
    summary = t("queue.summary", queue=found.name, failed=found.counts.failed)
    blocks: list[Block] = [_counts_fields(ctx, found.counts)]
    if found.counts.failed and found.jobs:
        blocks.append(_reasons_block(ctx, found))
        blocks.append(_jobs_table(ctx, found))
        if found.counts.failed > SHOW_FAILED:
            blocks.append(
                Text(t("queue.jobs_shown", shown=min(SHOW_FAILED, len(found.jobs)), total=found.counts.failed))
            )
        blocks.append(Text(t("queue.retry_hint", command=f"{ctx.prefix} queue retry {found.name}")))
    else:
        blocks.append(Text(t("queue.no_failed")))
    return Result(title=t("queue.title", queue=found.name), blocks=blocks, summary=summary)


async def _all_queues(ctx: OpContext, client: BullBoardClient) -> Result:
    t = ctx.t
    queues = await client.queues()
    by_name = {q.name: q for q in queues}
    board_config = ctx.config.stack.bull_board
    wanted = list(board_config.queues) if board_config and board_config.queues else list(by_name)
    title = t("queue.list_title")
    if not wanted:
        message = t("queue.none")
        return Result(title=title, blocks=[Text(message)], summary=message)
    rows = [[name, *(str(v) for _, v in by_name[name].counts.as_pairs())] for name in wanted if name in by_name]
    missing = [name for name in wanted if name not in by_name]
    failed = sum(by_name[name].counts.failed for name in wanted if name in by_name)
    summary = t("queue.list_summary", count=len(rows), failed=failed)
    blocks: list[Block] = [Table(t("queue.columns").split("|"), rows)]
    if missing:
        blocks.append(Text(t("queue.missing", queues=", ".join(missing))))
    return Result(title=title, blocks=blocks, ok=not missing, summary=summary)


# ---- /ops queue retry <name> [job-id|all] ---------------------------------------------------


def _retry_title(t: Catalog, args: RetryArgs) -> str:
    if args.job == ALL:
        return t("queue.retry_title", queue=args.name)
    return t("queue.retry_job_title", job=args.job, queue=args.name)


def _refused(title: str, message: str) -> Result:
    """A preview's "this cannot be done": the confirmation flow parks nothing for ok=False."""
    return Result(title=title, blocks=[Text(message)], ok=False, ephemeral=True, summary=message)


@operation(
    "queue retry", RetryArgs, role="operator", destructive="confirm", touches=("queue:{name}",), when_busy="wait"
)
async def queue_retry(ctx: OpContext, args: RetryArgs) -> Result:
    """Retry a queue's failed jobs (all of them, or one by id) through Bull Board."""
    t = ctx.t
    client = board(ctx)
    title = _retry_title(t, args)
    unread: str | None = None  # why the jobs could not be read before the retry
    try:
        tracked_queue = _pick(
            ctx, await client.queues(active=args.name, status=FAILED, per_page=TRACK_JOBS), args.name, "queue retry"
        )
        before, times = tracked_queue.counts, failure_times(tracked_queue)
    except TargetError as exc:  # the evidence cannot be read: the retry still goes, and says so
        unread = t(exc.key, **exc.fields)
        before, times = JobCounts(), {}
    if args.job == ALL:
        answer = await client.retry_failed(args.name)
        message = t("queue.retried_all", count=answer.retried, queue=args.name)
        if answer.skipped:
            message += " " + t("queue.retried_skipped", count=answer.skipped)
        retried = answer.retried
    else:
        try:
            await client.retry_job(args.name, args.job)
        except BoardHTTPError:
            # Bull refuses a job that is no longer failed (500 for a completed one): say which state it is in.
            state = (await client.job(args.name, args.job)).status
            if state != FAILED:
                return _refused(title, t("queue.job_not_failed", job=args.job, queue=args.name, state=state))
            raise
        message = t("queue.retried_job", job=args.job, queue=args.name)
        retried = 1
        times = {args.job: times.get(args.job)}
    result_blocks: list[Block] = [Text(message)]
    if unread is not None and not times:
        return _unverified(t, Result(title=title, blocks=result_blocks, summary=message), unread)
    if not retried:
        return Result(title=title, blocks=[*result_blocks, _effect_table(t, before, before)], summary=message)
    try:
        outcome = await settle(client, args.name, times, lambda queues: _pick(ctx, queues, args.name, "queue retry"))
    except TargetError as exc:
        return _unverified(t, Result(title=title, blocks=result_blocks, summary=message), t(exc.key, **exc.fields))
    if unread is None:
        result_blocks.append(_effect_table(t, before, outcome.counts))
    if not outcome.settled:
        result_blocks.append(Text(t("queue.still_running", command=f"{ctx.prefix} queue {args.name}")))
    if before.failed > len(times) and args.job == ALL:
        result_blocks.append(Text(t("verify.queue.tracked_part", tracked=len(times), total=before.failed)))
    result = Result(title=title, blocks=result_blocks, summary=message)
    checks = retry_checks(ctx, outcome, len(times), lambda job: _reason(ctx, job))
    if unread is not None:  # one job followed by id, its failure time before the retry unknown
        checks.append(_unread(t, unread))
    return verified(result, t, checks)


def _unread(t: Catalog, why: str) -> Check:
    return check(t("verify.queue.unread"), False, t("verify.queue.unread_detail", detail=why), state="warn")


def _unverified(t: Catalog, result: Result, why: str) -> Result:
    """The retry happened (its own answer said so) but its jobs could not be read: say why."""
    return verified(result, t, [_unread(t, why)], decisive=False)


def _effect_table(t: Catalog, before: JobCounts, after: JobCounts) -> Table:
    """Each count before the retry and now."""
    now = dict(after.as_pairs())
    rows = [[_count_label(t, i, name), str(value), str(now[name])] for i, (name, value) in enumerate(before.as_pairs())]
    return Table(t("queue.effect_columns").split("|"), rows)


@preview_for("queue retry")
async def queue_retry_preview(ctx: OpContext, args: RetryArgs) -> Result:
    """What a retry would move, read from the board; a retry that cannot happen is refused here."""
    t = ctx.t
    client = board(ctx)
    title = _retry_title(t, args)
    if args.job == ALL:
        found = await _with_failed(ctx, client, args.name, "queue retry")
        if not found.counts.failed:
            return _refused(title, t("queue.nothing_to_retry", queue=args.name))
        message = t("queue.preview_all", count=found.counts.failed, queue=args.name)
        return Result(title=title, blocks=[Text(message), _reasons_block(ctx, found)], summary=message)
    found = _pick(ctx, await client.queues(), args.name, "queue retry")
    answer = await client.job(args.name, args.job)
    if answer.status != FAILED:
        return _refused(title, t("queue.job_not_failed", job=args.job, queue=args.name, state=answer.status))
    job = answer.job
    message = t(
        "queue.preview_job",
        job=job.id,
        queue=args.name,
        ago=_ago(ctx, job.failed_at, time.time()),
        tries=job.tries(found.type),
        reason=_one_line(_reason(ctx, job), 200),
    )
    return Result(title=title, blocks=[Text(message)], summary=message)
