"""Message edits that the work they show never waits for.

A confirmed step shows its progress by editing one Slack message. Slack can be slow, fail,
or rate-limit the edit (429 with Retry-After, which the Web API client waits out); none of
that may delay or cancel the step. `DetachedUpdate` is the `ctx.update` such work gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.output.results import Result

log = logging.getLogger(__name__)

UPDATE_TIMEOUT = 10.0
"""The longest one edit may take (a 429 waited out included) before it is dropped."""
CLOSE_WAIT = 2.0
"""How long an edit already on its way may still take once the work has ended."""


class DetachedUpdate:
    """Calling it only keeps the newest result and wakes one pusher task; the caller returns at once.

    The pusher sends the newest result, each send bounded by `timeout`; results superseded
    meanwhile are dropped (the message is a view of the newest state, not a log).
    """

    def __init__(self, update: Callable[[Result], Awaitable[None]], timeout: float = UPDATE_TIMEOUT) -> None:
        self._update = update
        self._timeout = timeout
        self._latest: Result | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.pushed = 0
        self.dropped = 0

    async def __call__(self, result: Result) -> None:
        if self._closed:
            return
        self._latest = result
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._push())

    async def _push(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            result, self._latest = self._latest, None
            if result is None:
                continue
            try:
                await asyncio.wait_for(self._update(result), self._timeout)
                self.pushed += 1
            except Exception as exc:  # the view only: the work goes on
                self.dropped += 1
                log.warning("message update dropped: %s", type(exc).__name__)

    async def close(self, wait: float = CLOSE_WAIT) -> None:
        """Stop pushing. An edit already on its way gets `wait` seconds to land, so that it cannot
        arrive after (and overwrite) the final answer; anything not yet sent is dropped."""
        self._closed = True
        self._latest = None
        task, self._task = self._task, None
        if task is None:
            return
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
