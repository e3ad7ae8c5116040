"""What `queue retry` observes after Bull Board said "retried": did the jobs complete or fail again?

The board's answer only says the jobs were moved back to `waiting`; the queue's workers run
them afterwards. So the retried jobs are tracked by id: each one ends up completed, failed
again (in `failed` with a newer failure time than before the retry), or still waiting or
running when the bound is over. Counts alone cannot tell "FAILED 30 → 30" (all failed again)
from "30 → 0".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.context import OpContext
from bot.core.verify import check, poll
from bot.output.results import Check
from bot.targets.bull_board import FAILED, BoardJob, BoardQueue, BullBoardClient, JobCounts

COMPLETED = "completed"
SETTLE_SECONDS = 5.0
"""How long a retry waits for the queue to run the retried jobs before it reports."""
SETTLE_STEP = 0.25
PickQueue = Callable[[list[BoardQueue]], BoardQueue]
"""The retried queue among the board's answer (the handler's `_pick`, with its errors)."""
ReasonOf = Callable[[BoardJob], str]
"""A failed job's first reason line, as the handler shows it (redacted)."""
TRACK_JOBS = 1_000
"""Failed jobs read (newest first) to follow by id; a bigger backlog is followed in part, and said so."""


@dataclass
class Outcome:
    """Where each tracked job is now, and the queue's counts at that moment."""

    counts: JobCounts
    completed: set[str] = field(default_factory=set)
    failed_again: list[BoardJob] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)

    @property
    def settled(self) -> bool:
        return not self.pending


def failure_times(queue: BoardQueue) -> dict[str, int | None]:
    """Each failed job's id and when it failed, read before the retry."""
    return {job.id: job.failed_at for job in queue.jobs}


async def _read(client: BullBoardClient, name: str, tracked: dict[str, int | None], pick: PickQueue) -> Outcome:
    failed = pick(await client.queues(active=name, status=FAILED, per_page=TRACK_JOBS))
    done = pick(await client.queues(active=name, status=COMPLETED, per_page=len(tracked) + TRACK_JOBS))
    again = [job for job in failed.jobs if job.id in tracked and job.failed_at != tracked[job.id]]
    completed = {job.id for job in done.jobs if job.id in tracked}
    pending = set(tracked) - completed - {job.id for job in again}
    return Outcome(done.counts, completed, again, pending)


async def settle(client: BullBoardClient, name: str, tracked: dict[str, int | None], pick: PickQueue) -> Outcome:
    """Read until every tracked job has completed or failed again, or SETTLE_SECONDS passed."""
    seen = await poll(lambda: _read(client, name, tracked, pick), lambda o: o.settled, SETTLE_SECONDS, SETTLE_STEP)
    return seen.value


def retry_checks(ctx: OpContext, outcome: Outcome, tracked: int, reason: ReasonOf) -> list[Check]:
    """Completed, failed again (with the most common reason), and still running after the bound."""
    t = ctx.t
    checks = [
        check(
            t("verify.queue.completed"),
            len(outcome.completed) == tracked,
            t("verify.queue.completed_detail", done=len(outcome.completed), total=tracked),
        )
    ]
    again = len(outcome.failed_again)
    if again:
        top, count = Counter(reason(job) for job in outcome.failed_again).most_common(1)[0]
        detail = t("verify.queue.failed_again_detail", count=again, total=tracked, reason=top, times=count)
    else:
        detail = t("verify.queue.none_failed_again")
    checks.append(check(t("verify.queue.failed_again"), again == 0, detail))
    if outcome.pending:
        detail = t("verify.queue.pending_detail", count=len(outcome.pending), seconds=f"{SETTLE_SECONDS:g}")
        checks.append(check(t("verify.queue.pending"), False, detail, state="timeout"))
    return checks
