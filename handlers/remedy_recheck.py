"""After a diagnose remedy ran, the section is run again: is the finding gone?

`/ops diagnose api` ends with remedy buttons (`/ops restart api`). When it shows a remedy
that changes something (a destructive operation) while some findings are bad, it parks
those findings in the bot's Redis under the channel and the remedy's exact arguments. When
that operation then runs in that channel (the button, or the same command typed) within
RECHECK_TTL, the section is run again once and each finding that was bad is reported as
gone or still there, with any finding that went bad meanwhile, as part of the step's
verification. The key is taken with GETDEL, so one diagnose leads to one re-check.

Evidence is only what happened after the remedy started: the section re-reads logs from that
moment on (a restart is not judged by the webhook lines written before it). A finding with no
evidence yet (no log line since the restart) gets no verdict: the answer says it was not seen
again yet, and the verdict stands on the findings that could be re-read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from bot.core.context import OpContext
from bot.core.parsing import bind_words, find_operation, split_words, validate_args
from bot.core.registry import FollowUp, OpArgs, follow_up
from bot.core.verify import check, extend
from bot.output.results import Button, Check, Result, Text
from bot.storage.database import short_error
from bot.text.errors import BotError

log = logging.getLogger(__name__)

RECHECK_TTL = int(timedelta(minutes=30).total_seconds())
"""How long after a diagnose its remedy still counts as that diagnose's remedy."""
STORE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Rechecked:
    """A section run again after a remedy: the findings it could judge, and the names of those
    with no evidence since the remedy started (no verdict yet)."""

    checks: list[Check]
    unseen: list[str]


Rerun = Callable[[OpContext, str, datetime], Awaitable[Rechecked]]


def _key(ctx: OpContext, operation: str, args: OpArgs) -> str:
    arguments = args.model_dump_json()
    return f"{ctx.deps.settings.redis_prefix}diagnosis:remedy:{ctx.channel_id or '-'}:{operation}:{arguments}"


def _parse(ctx: OpContext, command: str) -> tuple[str, OpArgs] | None:
    """The remedy's operation and validated arguments, parsed as a click would be; None if not a remedy."""
    t, prefix = ctx.t, ctx.prefix
    text = command.strip()
    if text.startswith(prefix + " "):
        text = text[len(prefix) :].strip()
    try:
        parsed = find_operation(split_words(text, t), ctx.deps.registry, prefix, t)
        if parsed.operation.destructive == "none":
            return None  # a look (logs, cache stats) changes nothing: nothing to re-check
        data = bind_words(parsed.operation, parsed.words, t, prefix)
        args = validate_args(parsed.operation, data, {"config": ctx.config, "t": t}, t, prefix)
    except BotError:
        return None
    return parsed.operation.name, args


async def remember(ctx: OpContext, section: str, remedies: Sequence[Button], checks: Sequence[Check]) -> None:
    """Park the bad findings under each changing remedy; nothing when all are ok or Redis is down."""
    bad = {c.name: [c.state, c.detail] for c in checks if c.state != "ok"}
    if not bad:
        return
    value = json.dumps({"section": section, "bad": bad})
    parsed = [_parse(ctx, button.command) for button in remedies]
    keys = [_key(ctx, *found) for found in parsed if found is not None]
    if not keys:
        return
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            pipe = ctx.deps.redis.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, value, ex=RECHECK_TTL)
            await pipe.execute()
    except (RedisError, OSError, TimeoutError) as exc:
        log.info("diagnose: remedies not remembered (%s); no re-check after them", short_error(exc))


async def _taken(ctx: OpContext, operation: str, args: OpArgs) -> dict[str, Any] | None:
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            raw = await ctx.deps.redis.getdel(_key(ctx, operation, args))
    except (RedisError, OSError, TimeoutError) as exc:
        log.info("diagnose: remedy re-check not looked up (%s)", short_error(exc))
        return None
    if raw is None:
        return None
    found: dict[str, Any] = json.loads(raw)
    return found


def compare(ctx: OpContext, section: str, bad: dict[str, list[str]], now: Sequence[Check]) -> list[Check]:
    """Each finding that was bad: gone or still there; then each one that went bad since."""
    t = ctx.t
    by_name = {c.name: c for c in now}
    out: list[Check] = []
    for name, (state, detail) in bad.items():
        label = t("verify.diagnose.finding", section=section, name=name)
        current = by_name.get(name)
        if current is None:
            out.append(check(label, False, t("verify.diagnose.not_rerun")))
        elif current.state == "ok":
            out.append(check(label, True, t("verify.diagnose.gone", state=state, before=detail, detail=current.detail)))
        else:
            out.append(check(label, False, t("verify.diagnose.still", state=current.state, detail=current.detail)))
    for current in now:
        if current.name not in bad and current.state != "ok":
            label = t("verify.diagnose.finding", section=section, name=current.name)
            out.append(check(label, False, t("verify.diagnose.new", state=current.state, detail=current.detail)))
    return out


def install(operations: Sequence[str], rerun: Rerun) -> None:
    """Re-check after each of `operations` when it ran as a remembered diagnose remedy."""
    for name in operations:
        follow_up(name, _after(name, rerun))


def _after(name: str, rerun: Rerun) -> FollowUp:
    async def after(ctx: OpContext, args: OpArgs, result: Result, started: datetime) -> Result:
        remembered = await _taken(ctx, name, args)
        if remembered is None:
            return result
        section = str(remembered["section"])
        now = await rerun(ctx, section, started)
        bad = {k: v for k, v in remembered["bad"].items() if k not in now.unseen}
        result = extend(result, ctx.t, compare(ctx, section, bad, now.checks))
        was_bad = [n for n in now.unseen if n in remembered["bad"]]
        unseen = [ctx.t("verify.diagnose.finding", section=section, name=n) for n in was_bad]
        if unseen:
            note = ctx.t("verify.diagnose.unseen", names=", ".join(unseen), command=f"{ctx.prefix} diagnose {section}")
            result.blocks.append(Text(note))
            result.summary = f"{result.summary} · {note}" if result.summary else note
        return result

    return after
