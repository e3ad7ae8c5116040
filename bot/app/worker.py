"""A second event loop, in its own thread, for the work that follows an ack.

Slack wants its ack within 3 s whatever the targets do. When many commands arrive at
once, the checks, Docker calls and SQL that follow each ack would compete with the next
requests' acks on one loop; here the HTTP side keeps its loop to itself and every piece of
work (and every pool, session and client it uses) lives on the worker loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.core.lanes import Lanes

log = logging.getLogger(__name__)
T = TypeVar("T")


class AckFirst:
    """Acks go before work: work that follows an ack waits (briefly) while requests are in flight.

    A burst of commands then gets all its acks out before the first check starts, instead
    of each ack queueing behind the previous commands' work for the one interpreter lock.
    """

    def __init__(self, max_wait: float = 1.0) -> None:
        self.max_wait = max_wait
        self._in_flight = 0
        self._lock = threading.Lock()
        self._released: asyncio.Event | None = None

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    async def wait_idle(self, quiet: float = 0.02) -> None:
        """Until no request has been in flight for `quiet` seconds, or `max_wait` has passed.

        One watcher polls for everyone: two hundred waiting jobs polling on their own would
        take the interpreter lock from the very acks they wait for.
        """
        if self._released is None or self._released.is_set():
            self._released = asyncio.Event()
            asyncio.get_running_loop().create_task(self._watch(self._released, quiet))
        await self._released.wait()

    async def _watch(self, released: asyncio.Event, quiet: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        idle_since = None if self.busy else loop.time()
        while loop.time() < deadline:
            if self.busy:
                idle_since = None
            elif idle_since is None:
                idle_since = loop.time()
            elif loop.time() - idle_since >= quiet:
                break
            await asyncio.sleep(0.005)
        released.set()


class WorkerLoop:
    """The worker thread's loop; work submitted to it runs in lanes (bot/core/lanes.py)."""

    def __init__(self, name: str = "ops-bot-worker", lanes: Lanes | None = None) -> None:
        self.gate = AckFirst()
        self.lanes = lanes or Lanes()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._queue: list[Coroutine[Any, Any, Any]] = []
        self._draining = False

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def start(self) -> WorkerLoop:
        self._thread.start()
        return self

    async def _limited(self, coro: Coroutine[Any, Any, T]) -> T:
        return await self.lanes.run(coro)

    def load(self) -> dict[str, Any]:
        """The lanes' use and the work not yet started (read from any thread: plain counters)."""
        waiting = len(self._queue)
        return {"busy": self.lanes.busy(waiting), **self.lanes.snapshot(waiting)}

    def submit(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Fire and forget, after the acks in flight; a failure is logged, never lost silently.

        Called on the loop that acks. The work waits there, in a list, until no request has been
        in flight for a moment, then crosses to the worker loop in one go: handing each piece
        over at once would wake the worker thread, and make it take the interpreter lock, once
        per request of a burst, while the burst's acks are still being written.
        """
        self._queue.append(coro)
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._hand_over())

    async def _hand_over(self) -> None:
        try:
            await self.gate.wait_idle()
        finally:
            batch, self._queue = self._queue, []
            self._draining = False
            for coro in batch:
                future = asyncio.run_coroutine_threadsafe(self._limited(coro), self._loop)
                self._pending.add(future)
                future.add_done_callback(self._done)

    def _done(self, future: concurrent.futures.Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("background work failed: %r", future.exception())

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the worker loop and await the result from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def stop(self, timeout: float = 10.0) -> None:
        for future in list(self._pending):
            future.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
