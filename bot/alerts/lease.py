"""A group's lease, kept alive while its pass runs, and checked before every Slack call.

A replica leases an alert group for LEASE_SECONDS; a replica that died lets it run out and
another takes the group. A live replica may hold a group longer than that (its sends wait
out a channel's 429, a rule's diagnose runs): it renews the lease every RENEW_EVERY seconds.
Before each send it checks that at least the longest send's time is left on the lease as it
last saw it, so a send never starts when another replica might be taking the same group: the
database down (no renewal) or the lease taken over means no further sends in this pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

LEASE_SECONDS = 60.0
RENEW_EVERY = 15.0
LONGEST_SEND = 35.0
"""Time a send may take (an upload's three Slack calls, 10 s each) plus a margin."""


class LeaseLost(Exception):
    """The lease may no longer be ours; the pass stops before its next Slack call."""

    def __init__(self) -> None:
        super().__init__("the group's lease ran out or was taken over; another pass will bring it up to date")


class HeldLease:
    """`async with` it around a pass; `check()` before each send."""

    def __init__(self, renew: Callable[[], Awaitable[bool]], seconds: float = LEASE_SECONDS) -> None:
        self._renew = renew
        self._seconds = seconds
        self._valid_until = asyncio.get_running_loop().time() + seconds
        self._lost = False
        self._task: asyncio.Task[None] | None = None

    def check(self) -> None:
        if self._lost or asyncio.get_running_loop().time() + LONGEST_SEND > self._valid_until:
            raise LeaseLost()

    async def _keep(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._lost:
            await asyncio.sleep(RENEW_EVERY)
            asked = loop.time()
            try:
                held = await self._renew()
            except Exception:  # the database is down: the lease runs out as seen from here, on time
                continue
            if held:
                self._valid_until = asked + self._seconds
            else:
                self._lost = True

    async def __aenter__(self) -> HeldLease:
        self._task = asyncio.create_task(self._keep())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
