"""What `restart`, `start`, `up` and `stop` observe after they acted: the engine read again.

A container the engine "restarted" may have exited a second later, or be up but failing its
health check; a "stopped" one may have been killed after the grace period. Each check here
reads the container back (bounded by RUN_BOUND / HEALTH_BOUND) and says what it saw.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.context import OpContext
from bot.core.verify import check, poll
from bot.output.results import Check
from bot.targets.stack import ContainerInfo, StackServices
from bot.text import times

RUN_BOUND = 10.0
"""Seconds a (re)started container has to show as running with a new start time."""
HEALTH_BOUND = 60.0
"""Seconds a container with a Docker health check has to report `healthy` after it started."""
STOP_BOUND = 5.0
"""Seconds a stopped container has to show as not running (the stop call itself waited the grace)."""
KILLED = 137  # 128 + SIGKILL: what a container that ignored SIGTERM exits with after the grace
STEADY = 2.0
"""Seconds a container must stay up with the same start time: one that crashes at once is
"running" for a moment after every start, and must not read as restarted."""
POLL_INTERVAL = 0.25


def _clock(ctx: OpContext, moment: datetime | None, zoned: bool = True) -> str:
    """A start time in ops.yml's zone; `zoned` says the zone, for the one time of a verdict that
    carries it (the others of the same sentence are read in that zone)."""
    if moment is None:
        return "—"
    tz = times.zone(ctx.config.timezone)
    return times.labelled(moment, tz, "%H:%M:%S") if zoned else times.local(moment, tz, "%H:%M:%S")


def _new_start(before: ContainerInfo, now: ContainerInfo) -> bool:
    if now.started_at is None:
        return False
    return before.started_at is None or now.started_at > before.started_at


async def running_checks(ctx: OpContext, docker: StackServices, before: ContainerInfo) -> list[Check]:
    """Running again with a start time newer than before the step; then healthy, if it has a check."""
    t = ctx.t
    name = t("verify.container.running", name=before.name)
    seen = await poll(
        lambda: docker.inspect(before),
        lambda c: c.running and _new_start(before, c),
        RUN_BOUND,
        POLL_INTERVAL,
        give_up=lambda c: not c.running and _new_start(before, c),  # it started, and has already ended
    )
    now = seen.value
    if seen.met:
        await asyncio.sleep(STEADY)
        steady = await docker.inspect(before)
        if not steady.running or steady.started_at != now.started_at:
            detail = t("verify.container.crashed", state=steady.status, seconds=f"{STEADY:g}")
            return [check(name, False, detail)]
        now = steady
        detail = t(
            "verify.container.started",
            at=_clock(ctx, now.started_at),
            before=_clock(ctx, before.started_at, zoned=False),
            seconds=f"{STEADY:g}",
        )
        checks = [check(name, True, detail)]
    elif now.running:
        detail = t("verify.container.same_start", at=_clock(ctx, now.started_at))
        return [check(name, False, detail)]
    elif _new_start(before, now):
        detail = t("verify.container.crashed", state=now.status, seconds=t.number(seen.waited, 1))
        return [check(name, False, detail)]
    else:
        detail = t("verify.container.not_running", state=now.status, seconds=f"{RUN_BOUND:g}")
        return [check(name, False, detail)]
    if now.health is None:
        return checks
    return [*checks, await _health_check(ctx, docker, now)]


def already_running(ctx: OpContext, info: ContainerInfo) -> Check:
    """`start` of a running container changes nothing: say since when it runs."""
    name = ctx.t("verify.container.running", name=info.name)
    return check(name, True, ctx.t("verify.container.already", at=_clock(ctx, info.started_at)))


async def _health_check(ctx: OpContext, docker: StackServices, now: ContainerInfo) -> Check:
    """Docker's own health status: `healthy` within HEALTH_BOUND; `unhealthy` is a verdict at once."""
    t = ctx.t
    seen = await poll(
        lambda: docker.inspect(now),
        lambda c: c.health == "healthy",
        HEALTH_BOUND,
        POLL_INTERVAL,
        give_up=lambda c: c.health == "unhealthy" or not c.running,
    )
    since_start = (datetime.now(UTC) - now.started_at).total_seconds() if now.started_at else seen.waited
    fields = {"seconds": t.number(since_start, 1), "bound": f"{HEALTH_BOUND:g}", "status": seen.value.health or "—"}
    name = t("verify.container.health", name=now.name)
    if seen.met:
        return check(name, True, t("verify.container.healthy", **fields))
    if not seen.value.running:
        return check(name, False, t("verify.container.exited_while_starting", state=seen.value.status, **fields))
    return check(name, False, t("verify.container.unhealthy", **fields))


async def stopped_check(ctx: OpContext, docker: StackServices, before: ContainerInfo) -> Check:
    """Not running any more; and how it ended: exited by itself, killed after the grace, out of memory."""
    t = ctx.t
    name = t("verify.container.stopped", name=before.name)
    seen = await poll(lambda: docker.inspect(before), lambda c: not c.running, STOP_BOUND, POLL_INTERVAL)
    now = seen.value
    if not seen.met:
        return check(name, False, t("verify.container.still_running", state=now.status, seconds=f"{STOP_BOUND:g}"))
    grace = _grace(docker.config.stop_timeout)
    code = "—" if now.exit_code is None else str(now.exit_code)
    if now.oom_killed:
        return check(name, True, t("verify.container.oom", code=code))
    if now.exit_code == KILLED:
        return check(name, True, t("verify.container.killed", code=code, grace=grace))
    return check(name, True, t("verify.container.exited", code=code))


def _grace(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}"


async def verify_all(ctx: OpContext, docker: StackServices, acted: list[ContainerInfo], verb: str) -> list[Check]:
    """Every container the step acted on, checked at the same time (each under its own bounds),
    so several services cost the slowest one's wait, not the sum; in the order they were acted on."""

    async def one(before: ContainerInfo) -> list[Check]:
        if verb == "stop":
            return [await stopped_check(ctx, docker, before)]
        if verb == "start" and before.running:
            return [already_running(ctx, before)]
        return await running_checks(ctx, docker, before)

    found = await asyncio.gather(*(one(before) for before in acted))
    return [c for checks in found for c in checks]
