"""`/ops pending`: the confirmations and approvals waiting, with their buttons.

A critical step waits for a second admin; without this command the only way to find it was
the audit. Yours are the steps you asked for and have not confirmed (Confirm / Cancel); the
ones awaiting you are critical steps another person confirmed, shown to admins (Approve /
Reject). The buttons are the same commands as on the original message, so the role check
and the state machine decide again when they are clicked.
"""

from __future__ import annotations

import time
from typing import Any

from redis.exceptions import RedisError

from bot.core.context import OpContext
from bot.core.registry import NoArgs, operation
from bot.core.roles import rank
from bot.core.waiting import command_of, waiting_records
from bot.output.results import Block, Button, Buttons, Result, Text
from bot.storage.database import short_error
from bot.text.errors import UnavailableError

SHOWN = 10


async def waiting_actions(ctx: OpContext) -> list[dict[str, Any]]:
    """Every confirmation record still waiting (pending or awaiting approval), newest first."""
    try:
        return await waiting_records(ctx.deps)
    except (RedisError, OSError, TimeoutError) as exc:
        raise UnavailableError(
            part=ctx.t("part.redis"), operation=f"{ctx.prefix} pending", detail=short_error(exc)
        ) from None


def _command(ctx: OpContext, record: dict[str, Any]) -> str:
    return command_of(ctx.prefix, record)


@operation("pending", NoArgs, role="viewer", any_channel=True)
async def pending(ctx: OpContext, args: NoArgs) -> Result:
    """The confirmations and approvals waiting: yours, and those awaiting you as second admin."""
    t = ctx.t
    role = await ctx.deps.roles.role_of(ctx.user_id)
    records = await waiting_actions(ctx)
    now = time.time()
    mine = [r for r in records if r.get("requester") == ctx.user_id and r.get("state") == "pending"]
    awaiting = [
        r
        for r in records
        if r.get("state") == "awaiting_approval" and r.get("requester") != ctx.user_id and rank(role) >= rank("admin")
    ]
    own_waiting = [r for r in records if r.get("requester") == ctx.user_id and r.get("state") == "awaiting_approval"]
    blocks: list[Block] = []
    for record in mine[:SHOWN]:
        minutes = max(0, round((float(record.get("expires_at") or now) - now) / 60))
        blocks.append(Text(t("pending.mine", command=_command(ctx, record), minutes=minutes)))
        blocks.append(
            Buttons(
                [
                    Button(t("confirm.button.confirm"), f"{ctx.prefix} confirm {record['id']}", style="primary"),
                    Button(t("confirm.button.cancel"), f"{ctx.prefix} cancel {record['id']}"),
                ]
            )
        )
    for record in own_waiting[:SHOWN]:
        blocks.append(Text(t("pending.yours_awaiting", command=_command(ctx, record))))
    for record in awaiting[:SHOWN]:
        blocks.append(Text(t("pending.awaiting_you", command=_command(ctx, record), user=record.get("requester"))))
        blocks.append(
            Buttons(
                [
                    Button(t("confirm.button.approve"), f"{ctx.prefix} approve {record['id']}", style="danger"),
                    Button(t("confirm.button.reject"), f"{ctx.prefix} cancel {record['id']}"),
                ]
            )
        )
    if not blocks:
        return Result(
            title=t("pending.title"), blocks=[Text(t("pending.none"))], ephemeral=True, summary=t("pending.none")
        )
    summary = t("pending.summary", mine=len(mine), awaiting=len(awaiting), theirs=len(own_waiting))
    return Result(title=t("pending.title"), blocks=[Text(summary), *blocks], ephemeral=True, summary=summary)
