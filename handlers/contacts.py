"""Runbook "Contactos": the contact table, with who is reachable right now."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config.hours import reachable
from bot.core.context import OpContext
from bot.core.registry import NoArgs, operation
from bot.output.results import Result, Table, Text


@operation("contacts", NoArgs)
async def contacts(ctx: OpContext, args: NoArgs) -> Result:
    """The runbook's contact table, and who is reachable now."""
    t = ctx.t
    if not ctx.config.contacts:
        return Result(title=t("contacts.title"), blocks=[Text(t("contacts.none"))])
    now = datetime.now(UTC)
    rows = []
    for c in ctx.config.contacts:
        hours = str(c.hours) if c.hours else t("contacts.any_hour")
        if c.timezone:
            hours += f" {c.timezone}"
        state = t("contacts.reachable") if reachable(c, now, ctx.config.timezone) else t("contacts.off_hours")
        if c.on_call:
            state += f" · {t('contacts.on_call')}"
        rows.append([c.role, c.name, c.slack, c.email or "", hours, state])
    local_now = now.astimezone(ZoneInfo(ctx.config.timezone))
    return Result(
        title=t("contacts.title"),
        blocks=[
            Table(t("contacts.columns").split("|"), rows),
            Text(t("contacts.now", now=f"{local_now:%Y-%m-%d %H:%M}", tz=ctx.config.timezone)),
        ],
    )
