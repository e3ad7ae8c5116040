"""Closed loop: a destructive step re-reads what it changed and says what it saw.

A step's own answer ("restarted", "retried 30 jobs") is what the bot hoped; the engineer at
3 AM needs what is true now. So a handler ends with checks of observed values (the
container's new start time, how many retried jobs failed again, the keys left) and hands
them to `verified`, which adds one `Verification` block (rendered the same in Slack and the
terminal), makes a step that is not verified a failed outcome, and the dispatcher and the
confirmation flow copy it into the audit row with `audit_record`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.output.results import Check, CheckState, Result, Verification
from bot.text.errors import BotError
from bot.text.messages import Catalog

T = TypeVar("T")


def check(name: str, passed: bool, detail: str, state: CheckState | None = None) -> Check:
    """One observed fact: `passed` says whether it is what the step promised."""
    return Check(name=name, state=state or ("ok" if passed else "fail"), detail=detail)


async def observe(t: Catalog, name: str, read: Callable[[], Awaitable[list[Check]]]) -> list[Check]:
    """Run a verification's reads; a target failing while it is re-read is a failed check
    ("could not read it again: …"), never an error that would hide that the step ran."""
    try:
        return await read()
    except BotError as exc:
        return [check(name, False, t("verify.unreadable", detail=t(exc.key, **exc.fields)))]


def verification(t: Catalog, checks: Sequence[Check]) -> Verification:
    """The verdict over `checks`: verified only when there is at least one and all are ok."""
    verified = bool(checks) and all(c.state == "ok" for c in checks)
    return Verification(verified, t("verify.verified" if verified else "verify.not_verified"), list(checks))


def verified(result: Result, t: Catalog, checks: Sequence[Check], decisive: bool = True) -> Result:
    """`result` with its verification attached.

    When the checks are the step's effect itself (`decisive`: the container runs, the keys
    are gone), a step whose effect is not observed is not ok: its audit outcome is `failed`
    and the confirmation message says failed. When they only describe the world after it
    (a migration's health check afterwards), the step keeps its own outcome and the
    verification says ❌ beside it. Either way the summary (the audit row's detail) names
    the first check that failed, so the audit tells the same story as the message.
    """
    block = verification(t, checks)
    result.blocks.append(block)
    if block.verified:
        note = block.heading
    else:
        if decisive:
            result.ok = False
        failed = next(c for c in block.checks if c.state != "ok") if block.checks else None
        note = f"{block.heading}: {failed.name} — {failed.detail}" if failed else block.heading
    result.summary = f"{result.summary} · {note}" if result.summary else note
    return result


def extend(result: Result, t: Catalog, checks: Sequence[Check], decisive: bool = False) -> Result:
    """Add `checks` to the result's verification (one block, one verdict over all of them).

    For checks a second module makes after the step (a diagnose finding re-read): the step's
    own checks stay first; with `decisive=False` a failing added check does not make the step
    itself failed."""
    if not checks:
        return result
    before = result.verification
    if before is not None:
        result.blocks.remove(before)
        marker = f" · {before.heading}"  # the note `verified` added: one verdict, said once
        if marker in result.summary:
            result.summary = result.summary[: result.summary.rindex(marker)]
        elif result.summary.startswith(before.heading):
            result.summary = ""
    return verified(result, t, [*(before.checks if before else []), *checks], decisive=decisive)


def audit_record(result: Result | None) -> dict[str, Any] | None:
    """The verification of `result` as the audit row's JSON, or None when it has none."""
    block = result.verification if result is not None else None
    if block is None:
        return None
    return {
        "verified": block.verified,
        "checks": [{"name": c.name, "state": c.state, "detail": c.detail} for c in block.checks],
    }


@dataclass(frozen=True)
class Polled(Generic[T]):
    """The last value read, whether it met the condition, and after how many seconds."""

    value: T
    met: bool
    waited: float


async def poll(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    bound: float,
    interval: float = 0.25,
    give_up: Callable[[T], bool] | None = None,
) -> Polled[T]:
    """Read until `done` holds, `give_up` holds (a verdict already reached, e.g. unhealthy),
    or `bound` seconds passed; a step's effect often takes a moment to show."""
    started = time.monotonic()
    while True:
        value = await read()
        waited = time.monotonic() - started
        if done(value):
            return Polled(value, True, waited)
        if waited >= bound or (give_up is not None and give_up(value)):
            return Polled(value, False, waited)
        await asyncio.sleep(min(interval, max(bound - waited, 0.0)))
