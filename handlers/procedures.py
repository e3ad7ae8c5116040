"""Steps that several runbook procedures share: stop or start a service, and "make health-check".

Restore and deploy rollback both end the runbook's way, with a health check; here it is the
same checks as `/ops status` (handlers/health.py), retried for a while because a service
that was just started needs a moment before it answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from bot.core.context import OpContext
from bot.output.results import Check, Text
from bot.output.terminal import STATE_MARK
from bot.procedures.steps import Step, StepFailed, StepOutput
from bot.targets.stack import StackServices
from handlers import swarm_services
from handlers.containers import docker_of
from handlers.health import http_checks, service_probes

HEALTH_WAIT = 60.0
HEALTH_EVERY = 2.0


def service_step(ctx: OpContext, service: str, verb: Literal["stop", "start"], hint: str = "") -> Step:
    """`docker-compose stop|start <service>` as a step: every container of the service, state read
    back; on a Swarm stack the service is scaled to 0 (remembering its replicas) or back."""

    async def act(output: StepOutput) -> str | None:
        docker = docker_of(ctx)
        if docker.kind == "swarm":
            return await _swarm_step(ctx, docker, service, verb, output)
        found = await docker.containers(service)
        if not found:
            raise StepFailed("steps.no_container", service=service)
        for info in found:
            after = await docker.act(info, verb)
            output.line(ctx.t("containers.after", name=after.name, state=after.describe(ctx.t)))
            if after.running != (verb == "start"):
                raise StepFailed(f"containers.{verb}.failed", service=service)
        return ", ".join(info.name for info in found)

    return Step(label=ctx.t(f"steps.label.{verb}", service=service), action=act, hint=hint)


async def _swarm_step(
    ctx: OpContext, docker: StackServices, service: str, verb: Literal["stop", "start"], output: StepOutput
) -> str:
    result = await swarm_services.act(ctx, docker, service, verb)
    for block in result.blocks:
        if isinstance(block, Text):
            output.line(block.text)
    if not result.ok:
        raise StepFailed(f"containers.{verb}.failed", service=service)
    return result.summary or service


async def _all_checks(ctx: OpContext) -> list[Check]:
    return list(await asyncio.gather(*http_checks(ctx), *service_probes(ctx)))


def health_step(ctx: OpContext, hint: str = "", wait: float = HEALTH_WAIT, every: float = HEALTH_EVERY) -> Step:
    """Every check of `/ops status`, until all pass or `wait` has passed; fails naming the bad ones."""

    async def check(output: StepOutput) -> str | None:
        deadline = time.monotonic() + wait
        attempt = 0
        while True:
            attempt += 1
            checks = await _all_checks(ctx)
            bad = [c for c in checks if c.state != "ok"]
            if not bad or time.monotonic() + every > deadline:
                break
            output.status = ctx.t("steps.health.retrying", bad=len(bad), count=len(checks), attempt=attempt)
            await asyncio.sleep(every)
        for c in checks:
            latency = f" ({c.latency_ms:.0f} ms)" if c.latency_ms is not None else ""
            output.line(f"{STATE_MARK[c.state]:<9} {c.name}: {c.detail}{latency}")
        if not checks:
            raise StepFailed("check.nothing")
        if bad:
            raise StepFailed(
                "steps.health.failed", bad=len(bad), count=len(checks), names=", ".join(c.name for c in bad)
            )
        return ctx.t("steps.health.ok", count=len(checks))

    return Step(label=ctx.t("steps.label.health"), action=check, hint=hint)
