"""`restart`, `stop`, `start`, `up` and `scale` on a Swarm stack: the service changes, Swarm
replaces the tasks, and the bot reads the tasks back until they are what it asked for.

A rolling restart is verified when every running task carries the new spec (its
ForceUpdate mark), their number is the service's replicas, each is healthy when the
service has a health check, and the update is `completed`. An update Swarm paused or
rolled back (a new task failed its health check) is a failed check at once, with Swarm's
own message; one still going after ROLL_BOUND is not verified either ("still updating").
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.context import OpContext
from bot.core.verify import check, observe, poll, verified
from bot.output.results import Check, Fields, Result, Text
from bot.targets.stack import ContainerInfo, ServiceState, StackServices, Verb

ROLL_BOUND = 90.0
"""Seconds a rolling restart has to replace every task (one at a time, each waiting for health):
within the operation's 120 s, so a slow update is reported "not yet", never cut by the timeout."""
SCALE_BOUND = 60.0
"""Seconds a scale (or a stop, or a start) has to reach its replicas."""
POLL_INTERVAL = 0.5
FAILED_UPDATE = frozenset({"paused", "rollback_started", "rollback_paused", "rollback_completed"})


@dataclass(frozen=True)
class Snapshot:
    state: ServiceState
    tasks: list[ContainerInfo]

    def fresh(self, want: ServiceState) -> list[ContainerInfo]:
        """Running tasks of the wanted spec, healthy when the service has a health check."""
        return [
            t
            for t in self.tasks
            if t.running and t.spec_mark == want.spec_mark and (not want.has_health or t.health in (None, "healthy"))
        ]

    def converged(self, want: ServiceState, rolled: bool) -> bool:
        """All running tasks are of the wanted spec and count; a roll also needs its update finished."""
        running = [t for t in self.tasks if t.running]
        update_done = not rolled or self.state.update_state not in ("updating", *FAILED_UPDATE)
        wanted = want.replicas if want.replicas >= 0 else max(len(running), 1)  # global: one per node
        return update_done and len(self.fresh(want)) == wanted == len(running)


async def _snapshot(docker: StackServices, service: str) -> Snapshot:
    return Snapshot(await docker.service(service), await docker.containers(service))


def task_fields(ctx: OpContext, info: ContainerInfo) -> Fields:
    t = ctx.t
    return Fields(
        [
            (t("containers.field.service"), info.service),
            (t("swarm.field.task"), info.name),
            (t("swarm.field.node"), info.node or "—"),
            (t("containers.field.state"), info.describe(t)),
        ]
    )


async def converge_checks(
    ctx: OpContext, docker: StackServices, service: str, want: ServiceState, bound: float, rolled: bool
) -> list[Check]:
    """Read the service and its tasks until they match `want` (or Swarm gave up, or `bound`)."""
    t = ctx.t
    name = t("swarm.verify.name", service=service)

    async def read() -> list[Check]:
        seen = await poll(
            lambda: _snapshot(docker, service),
            lambda s: s.converged(want, rolled),
            bound,
            POLL_INTERVAL,
            give_up=lambda s: rolled and s.state.update_state in FAILED_UPDATE,
        )
        snap = seen.value
        fresh = len(snap.fresh(want))
        running = len([x for x in snap.tasks if x.running])
        fields = {"fresh": fresh, "replicas": want.replicas, "running": running, "seconds": t.number(seen.waited, 1)}
        if seen.met:
            key = "swarm.verify.rolled" if rolled else "swarm.verify.scaled"
            return [check(name, True, t(key, **fields))]
        if snap.state.update_state in FAILED_UPDATE:
            detail = t(
                "swarm.verify.update_failed",
                state=snap.state.update_state or "?",
                message=snap.state.update_message or "—",
                **fields,
            )
            return [check(name, False, detail)]
        return [check(name, False, t("swarm.verify.not_yet", bound=f"{bound:g}", **fields))]

    return await observe(t, name, read)


async def act(ctx: OpContext, docker: StackServices, service: str, verb: Verb) -> Result:
    """restart = rolling `service update --force`; stop = scale to 0 remembering; start = back."""
    t = ctx.t
    title = t(f"containers.{verb}.title", service=service)
    before = await docker.service(service)
    if verb == "restart":
        if before.replicas == 0:
            return Result(title=title, blocks=[Text(t("swarm.restart.stopped", service=service))], ok=False)
        want = await docker.roll(service)
        summary = t("swarm.restart.done", service=service, replicas=want.replicas)
    elif verb == "stop":
        want = await docker.set_replicas(service, 0, remember=True)
        summary = t("swarm.stop.done", service=service, replicas=before.replicas)
    else:
        if before.replicas > 0:
            summary = t("swarm.start.already", service=service, replicas=before.replicas)
            want = before
        else:
            target = before.remembered or 1
            want = await docker.set_replicas(service, target)
            summary = t("swarm.start.done", service=service, replicas=target)
    checks = await converge_checks(
        ctx, docker, service, want, ROLL_BOUND if verb == "restart" else SCALE_BOUND, verb == "restart"
    )
    tasks = await docker.containers(service)
    lines = [t("swarm.after", name=x.name, node=x.node or "—", state=x.describe(t)) for x in tasks]
    blocks: list[Text] = [Text(summary)]
    if lines:
        blocks.append(Text("\n".join(lines)))
    result = Result(title=title, blocks=list(blocks), summary=summary)
    return verified(result, t, checks)


async def preview(ctx: OpContext, docker: StackServices, service: str, verb: Verb) -> Result:
    """What a confirmation shows: the service's replicas and each task with its node."""
    t = ctx.t
    state = await docker.service(service)
    title = t(f"containers.{verb}.title", service=service)
    if state.replicas == 0 and verb in ("restart", "stop"):  # nothing to do: nothing is parked
        refused = t(f"swarm.{verb}.stopped", service=service)
        return Result(title=title, blocks=[Text(refused)], ok=False, summary=refused)
    tasks = await docker.containers(service)
    key = {"restart": "swarm.restart.preview", "stop": "swarm.stop.preview", "start": "swarm.start.preview"}[verb]
    blocks: list[Text | Fields] = [Text(t(key, service=service, replicas=state.replicas, count=len(tasks)))]
    blocks.extend(task_fields(ctx, info) for info in tasks)
    return Result(title=title, blocks=list(blocks))


async def scale(ctx: OpContext, docker: StackServices, service: str, replicas: int) -> Result:
    t = ctx.t
    title = t("swarm.scale.title", service=service)
    before = await docker.service(service)
    want = await docker.set_replicas(service, replicas)
    summary = t("swarm.scale.done", service=service, before=before.replicas, after=replicas)
    checks = await converge_checks(ctx, docker, service, want, SCALE_BOUND, rolled=False)
    return verified(Result(title=title, blocks=[Text(summary)], summary=summary), t, checks)


async def scale_preview(ctx: OpContext, docker: StackServices, service: str, replicas: int) -> Result:
    t = ctx.t
    state = await docker.service(service)
    title = t("swarm.scale.title", service=service)
    if state.replicas == replicas:  # a no-op is refused before any confirmation
        same = t("swarm.scale.same", service=service, before=state.replicas, after=replicas)
        return Result(title=title, blocks=[Text(same)], ok=False, summary=same)
    return Result(
        title=title, blocks=[Text(t("swarm.scale.preview", service=service, before=state.replicas, after=replicas))]
    )


async def up(ctx: OpContext, docker: StackServices) -> Result:
    """Every configured service at 0 replicas scaled back to what `stop` remembered (else 1)."""
    t = ctx.t
    lines: list[str] = []
    checks: list[Check] = []
    for service in ctx.config.services:
        state = await docker.service(service)
        if state.replicas != 0:
            lines.append(t("swarm.up.already", service=service, replicas=state.replicas))
            continue
        want = await docker.set_replicas(service, state.remembered or 1)
        lines.append(t("swarm.start.done", service=service, replicas=want.replicas))
        checks.extend(await converge_checks(ctx, docker, service, want, SCALE_BOUND, rolled=False))
    summary = t("containers.up.done")
    result = Result(
        title=t("containers.up.title", project=docker.project),
        blocks=[Text(summary), Text("\n".join(lines))],
        summary=summary,
    )
    return verified(result, t, checks) if checks else result
