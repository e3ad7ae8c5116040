"""`/ops audit`: who ran what, when, with what outcome (admins only)."""

from __future__ import annotations

from bot.core.argtypes import SlackUser, positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation
from bot.output.results import Result, Table, Text
from bot.text import times


class AuditArgs(OpArgs):
    count: int = positional(20, metavar="N", ge=1, le=200)
    user: SlackUser | None = positional(None, metavar="@user")


@operation("audit", AuditArgs, role="admin")
async def audit(ctx: OpContext, args: AuditArgs) -> Result:
    """Who ran what, when, with what outcome."""
    t = ctx.t
    rows = await ctx.deps.audit.recent(args.count, args.user)
    title = t("audit.title", count=args.count)
    if not rows:
        return Result(title=title, blocks=[Text(t("audit.empty"))])
    tz = times.zone(ctx.config.timezone)
    table = [
        [
            times.local(r.at, tz, "%m-%d %H:%M:%S"),
            r.user_id,
            r.channel_id or "-",
            _command(r.operation, r.arguments),
            t.code("audit.word", r.decision),
            t.code("audit.word", r.outcome),
            _verified(r.verification),
            str(r.duration_ms if r.duration_ms is not None else ""),
        ]
        for r in rows
    ]
    zone_note = Text(t("time.zone_note", zone=times.zone_label(tz)))
    return Result(title=title, blocks=[Table(t("audit.columns").split("|"), table), zone_note])


def _verified(verification: dict[str, object] | None) -> str:
    """✅ / ❌ for a step whose effect was checked again (bot.core.verify); blank when none was."""
    if not verification:
        return ""
    return "✅" if verification.get("verified") else "❌"


def _command(operation: str, arguments: dict[str, object]) -> str:
    if operation == "?":
        return str(arguments.get("text", "?"))[:60]
    shown = " ".join(f"{k}={v}" for k, v in arguments.items() if v not in (None, False, ""))
    return f"{operation} {shown}".strip()[:80]
