"""Two lanes for the work that follows an ack, so long-lived work never takes the slots that
short commands need.

Every piece of work starts in the short lane, which has `short_slots` slots; work beyond
them waits in order. A long-lived operation (the registry marks it: `@operation(..., long=True)`,
e.g. a live tail, a migration, a restore) moves to the long lane as its handler starts: it
gives its short slot back at once and counts against the long lane's `long_slots` and its
user's `long_per_user`. When either is full the operation is refused with a clear message
(`LaneFullError`) before it does anything. Work nobody declared long but that still runs
for more than `promote_after` seconds (a step that waits out a hung target) moves to the long
lane too, so it cannot hold a short slot for its whole timeout; it is not refused, since it
has already started, but it counts in the long lane's use.

A confirmed destructive step holds its place from the click: it moves to the long lane without
the caps (`confirmed_step()` marks it), so live tails started after the click can never get
the step refused ("You already have 4 long-running operations…"). It still counts in the
lane's use; how many run at once is already bounded by the clicks and the target locks
(bot/core/target_locks.py).

Lanes live on the worker loop (bot/app/worker.py). The running piece of work is found through a
context variable, which the handler's tasks inherit, so `declare_long` needs no argument
threading through the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.text.errors import BotError

T = TypeVar("T")

SHORT_SLOTS = 32
LONG_SLOTS = 48
LONG_PER_USER = 4
PROMOTE_AFTER = 20.0


class LaneFullError(BotError):
    """A long-lived operation was refused: its user, or the whole bot, runs as many as allowed."""

    key = "lanes.user_full"


@dataclass
class Job:
    """One piece of work: which lane it occupies right now."""

    holds_short: bool = False
    in_long: bool = False
    long_user: str | None = None
    timer: asyncio.TimerHandle | None = None


_CURRENT: contextvars.ContextVar[tuple[Lanes, Job] | None] = contextvars.ContextVar("ops_lane_job", default=None)
_CONFIRMED: contextvars.ContextVar[bool] = contextvars.ContextVar("ops_confirmed_step", default=False)


class Lanes:
    """The short lane (a semaphore) and the long lane (counters); all on one event loop."""

    def __init__(
        self,
        short_slots: int = SHORT_SLOTS,
        long_slots: int = LONG_SLOTS,
        long_per_user: int = LONG_PER_USER,
        promote_after: float = PROMOTE_AFTER,
    ) -> None:
        self.short_slots = short_slots
        self.long_slots = long_slots
        self.long_per_user = long_per_user
        self.promote_after = promote_after
        self._short = asyncio.Semaphore(short_slots)
        self.queued = 0
        self.short_used = 0
        self.long_used = 0
        self._per_user: Counter[str] = Counter()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` in the short lane (waiting for a slot), where it may move to the long lane."""
        job = Job()
        self.queued += 1
        try:
            await self._short.acquire()
        except BaseException:
            coro.close()
            raise
        finally:
            self.queued -= 1
        job.holds_short = True
        self.short_used += 1
        job.timer = asyncio.get_running_loop().call_later(self.promote_after, self._promote, job)
        token = _CURRENT.set((self, job))
        try:
            return await coro
        finally:
            _CURRENT.reset(token)
            job.timer.cancel()
            self._leave(job)

    def declare_long(self, job: Job, user: str, confirmed: bool = False) -> None:
        """Move `job` to the long lane for `user`, or refuse it (nothing has run yet); a
        `confirmed` step is never refused: it holds its place from its click."""
        if job.long_user is not None:
            return
        if confirmed:
            self._per_user[user] += 1
            job.long_user = user
            self._to_long(job)
            return
        if self._per_user[user] >= self.long_per_user:
            raise LaneFullError("lanes.user_full", limit=self.long_per_user)
        if not job.in_long and self.long_used >= self.long_slots:
            raise LaneFullError("lanes.full", limit=self.long_slots)
        self._per_user[user] += 1
        job.long_user = user
        self._to_long(job)

    def _to_long(self, job: Job) -> None:
        if not job.in_long:
            job.in_long = True
            self.long_used += 1
        self._release_short(job)

    def _promote(self, job: Job) -> None:
        if job.holds_short:
            self._to_long(job)

    def _release_short(self, job: Job) -> None:
        if job.holds_short:
            job.holds_short = False
            self.short_used -= 1
            self._short.release()

    def _leave(self, job: Job) -> None:
        self._release_short(job)
        if job.in_long:
            job.in_long = False
            self.long_used -= 1
        if job.long_user is not None:
            self._per_user[job.long_user] -= 1
            if self._per_user[job.long_user] <= 0:
                del self._per_user[job.long_user]
            job.long_user = None

    def snapshot(self, waiting: int = 0) -> dict[str, Any]:
        """What /healthz shows: work waiting for a short slot and each lane's use."""
        queued = self.queued + waiting
        return {
            "queued": queued,
            "short": {"used": self.short_used, "slots": self.short_slots},
            "long": {"used": self.long_used, "slots": self.long_slots, "per_user": self.long_per_user},
        }

    def busy(self, waiting: int = 0) -> bool:
        """New short work waits (every short slot taken and work queued), or new long work is refused."""
        short_full = self.short_used >= self.short_slots and self.queued + waiting > 0
        return short_full or self.long_used >= self.long_slots


def declare_long(user: str) -> None:
    """Called as a long-lived operation starts: move the running work to the long lane.

    Outside a lane (the terminal, a test calling the dispatcher directly) there is no slot
    to give back and nothing to cap, so it does nothing. Raises LaneFullError.
    """
    current = _CURRENT.get()
    if current is not None:
        lanes, job = current
        lanes.declare_long(job, user, confirmed=_CONFIRMED.get())


def confirmed_step() -> None:
    """Mark the running task as a confirmed step (bot/core/confirmations.py): its `declare_long`
    is never refused. Set inside the step's own task, so nothing else inherits it."""
    _CONFIRMED.set(True)
