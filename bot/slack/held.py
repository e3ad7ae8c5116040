"""Hold an answer Slack could not take, in the bot's Postgres, until Slack answers again.

The answer becomes an `answer` step of the escalation queue: the same durable, leased,
once-only queue that carries pages and thread lines, with its one circuit for "Slack is
away". Its response_url lives 30 minutes from the command (bot/incidents/answers.py decides
the way: that link while it lives, a DM after).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from bot.core.deps import Deps
from bot.incidents.answers import answer_step
from bot.slack.answer import Recipient
from bot.storage.incidents import PlannedStep

log = logging.getLogger(__name__)


async def hold_answer(deps: Deps, to: Recipient, response_url: str, payload: dict[str, Any], dm_text: str) -> bool:
    """Write the answer to the queue (True) or say it could not be (False: the database is away too)."""
    if not to.user:
        return False
    waited = 0.0 if to.received is None else max(0.0, time.monotonic() - to.received)
    async with deps.db.connection() as conn, conn.transaction():
        now = await deps.incidents.now(conn)
        step = answer_step(
            response_url,
            payload,
            to.user,
            to.channel,
            deps.redact(to.command)[:200],
            dm_text,
            now - timedelta(seconds=waited),
        )
        await deps.incidents.insert_steps(conn, None, [PlannedStep("answer", step, now)])
    if deps.escalation is not None:
        deps.escalation.wake()
    return True
