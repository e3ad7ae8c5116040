"""How a runbook procedure (migrate, restore, deploy rollback) ends: its own output, then the health now.

A migration that printed "applied 3 migrations" and exited 0 can still have left the API
failing; a restore whose health step passed a minute ago says little about now. So the
final message shows the main step's own last lines even when it succeeded (the whole
output is attached as a file by the procedure), and the verification is the steps' own
outcomes followed by every check of `/ops status`, read after the last step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.core.context import OpContext
from bot.core.verify import check, verified
from bot.output.results import Block, Check, Code, Result, Text
from bot.procedures.steps import Procedure, Step
from handlers.health import http_checks, service_probes


def _step_check(ctx: OpContext, step: Step) -> Check:
    """A step's own outcome: done with its last line of output, failed with why, or not run."""
    t = ctx.t
    name = t("verify.step.name", label=step.label)
    if step.state == "done":
        last = step.output.tail(1) if step.output is not None and not step.output.empty else []
        detail = t("verify.step.done", line=last[0]) if last else t("verify.step.done_quiet")
        return check(name, True, detail)
    if step.state == "failed":
        return check(name, False, t("verify.step.failed", detail=step.detail or "?"))
    return check(name, False, t("verify.step.not_run"), state="not_run")


async def health_now(ctx: OpContext) -> list[Check]:
    """Every check of `/ops status`, once, now."""
    return list(await asyncio.gather(*http_checks(ctx), *service_probes(ctx)))


def _tail(ctx: OpContext, procedure: Procedure, step: Step) -> list[Block]:
    """The step's last lines in the message; the procedure already shows them when it failed."""
    if procedure.failed_step is not None or step.output is None or step.output.empty:
        return []
    number = procedure.steps.index(step) + 1
    return [Text(ctx.t("steps.tail", n=number)), Code("\n".join(step.output.tail()))]


async def verified_procedure(
    ctx: OpContext, procedure: Procedure, main: Sequence[Step], *extra: Block, shown: Step | None = None
) -> Result:
    """The procedure's final message with `shown`'s (else the last of `main`'s) output tail and a
    verification: each of `main`'s outcomes, then the health checks as they are now.

    The health after a migration can fail for reasons of its own (the API was down before):
    the migration is still reported as done, and the verification says ❌ with what it saw."""
    tail = _tail(ctx, procedure, shown or main[-1])
    result = procedure.result(*extra, *tail)
    checks = [_step_check(ctx, step) for step in main]
    checks.extend(await health_now(ctx))
    # The procedure's own outcome stands (a failed step already made it not ok); the health
    # read afterwards is what is true now, shown as ❌ beside a migration that did apply.
    return verified(result, ctx.t, checks, decisive=False)
