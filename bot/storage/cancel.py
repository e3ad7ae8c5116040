"""Loops that must stop when cancelled, even when a library re-labels the cancellation.

Shared by the loops over the bot's Postgres (pg_listen, the escalation worker, the scheduler);
it lives here, at the storage layer, so that none of them imports the app's worker loop.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Re-raise a cancellation that a library turned into another error on the way out.

    asyncpg, for one, answers a cancel inside a transaction whose connection is gone with
    InterfaceError; a loop that logs and carries on would then never stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
