"""Runbook "Desactivar Tenant Problemático": a tenant's row, and turning it off or on.

Disabling is the runbook's two steps as one confirmed action: `UPDATE tenants SET active =
false` and then clearing the tenant's cache, reported separately, because the second can
fail after the first succeeded and the person on call must know which state they are in.
The tenant id is a query parameter; the table name comes from ops.yml, where it is
validated as a plain identifier, and is quoted here as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation, preview_for
from bot.core.verify import check, observe, verified
from bot.output.results import Block, Check, Fields, Result, Table, Text
from bot.storage.database import TargetDatabase, short_error
from bot.text.errors import BotError, TargetError, UsageError
from handlers.cache import (
    SCAN_TIMEOUT,
    FlushInterrupted,
    KeyCount,
    TenantArgs,
    count_tenant_keys,
    flush_tenant_keys,
    number,
    progress_reporter,
    sample_block,
    talking_to_redis,
    tenant_keys_left,
    tenant_pattern,
)

_PG_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def quote_identifier(name: str) -> str:
    """`schema.table` as a safely quoted SQL name.

    Each part is folded to lower case first, which is what Postgres does with the same
    name unquoted (as the runbook writes `tenants`), then double-quoted with any `"`
    doubled, so even a name that slipped past config validation cannot inject SQL.
    """
    return ".".join('"' + part.lower().replace('"', '""') + '"' for part in name.split("."))


def table_of(ctx: OpContext) -> str:
    postgres = ctx.config.stack.postgres
    if postgres is None:
        raise BotError("stack.not_configured", setting="stack.postgres")
    return quote_identifier(postgres.tenants_table)


def table_name(ctx: OpContext) -> str:
    return ctx.config.stack.postgres.tenants_table if ctx.config.stack.postgres else "?"


def database_of(ctx: OpContext) -> TargetDatabase:
    if ctx.deps.target_db is None:
        raise BotError("stack.not_configured", setting="stack.postgres")
    return ctx.deps.target_db


@asynccontextmanager
async def stack_db(ctx: OpContext) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the stack's Postgres; a failing query becomes a TargetError, redacted."""
    async with database_of(ctx).connection() as conn:
        try:
            yield conn
        except _PG_FAILURES as exc:
            raise TargetError("postgres", ctx.deps.redact(short_error(exc))) from None


def unknown_tenant(ctx: OpContext, tenant: str) -> UsageError:
    return UsageError("tenant.unknown", tenant=tenant, table=table_name(ctx))


async def fetch_tenant(ctx: OpContext, tenant: str) -> dict[str, Any]:
    """The tenant's row as a dict (every column, whatever the table has); refused if absent."""
    async with stack_db(ctx) as conn:
        row = await conn.fetchrow(f"SELECT * FROM {table_of(ctx)} WHERE id = $1", tenant)
    if row is None:
        raise unknown_tenant(ctx, tenant)
    return dict(row.items())


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


FIELD_LIMIT = 300
"""Characters of one column shown; a longer value is cut before it is redacted, with a note."""


def row_fields(ctx: OpContext, row: dict[str, Any]) -> list[tuple[str, str]]:
    bounded = ctx.deps.redact.bounded
    return [(bounded(str(column), FIELD_LIMIT), bounded(_value(value), FIELD_LIMIT)) for column, value in row.items()]


def state_word(ctx: OpContext, active: Any) -> str:
    return ctx.t("tenant.state.active" if active else "tenant.state.inactive")


async def cache_count(ctx: OpContext, tenant: str) -> tuple[KeyCount | None, str]:
    """The tenant's cache keys and a line about them; Redis trouble is shown, not raised.

    `tenant show` and the disable preview stay useful while the stack's Redis is down:
    the database row is the main thing, and the line says why the count is missing.
    """
    redis = ctx.deps.target_redis
    if redis is None or ctx.config.stack.redis is None:
        return None, ctx.t("tenant.cache.not_configured")
    pattern = tenant_pattern(ctx.config, tenant)
    try:
        async with talking_to_redis(ctx, SCAN_TIMEOUT):
            counted = await count_tenant_keys(redis, pattern)
    except TargetError as exc:
        return None, ctx.t("tenant.cache.unknown", detail=exc.detail)
    return counted, number(ctx.t, counted.count)


LIST_LIMIT = 25
"""Rows `tenant list` shows; the rest are counted ("…and 40 more") so the reader narrows the pattern."""
MAX_LIST_PATTERN = 64


class TenantListArgs(OpArgs):
    pattern: str | None = positional(None, metavar="pattern", max_length=MAX_LIST_PATTERN)


def like_pattern(pattern: str | None) -> str:
    """An ILIKE pattern from what was typed: a glob (`abc*`, `?z9`) as it is, anything else as a substring.

    `%`, `_` and `\\` typed by the reader are literal characters, never wildcards of their own."""
    if not pattern:
        return "%"
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if "*" in pattern or "?" in pattern:
        return escaped.replace("*", "%").replace("?", "_")
    return f"%{escaped}%"


@operation("tenant list", TenantListArgs)
async def list_tenants(ctx: OpContext, args: TenantListArgs) -> Result:
    """The tenants table (id, name, active), sorted by id; a pattern (substring or glob) narrows it."""
    t = ctx.t
    table = table_of(ctx)
    # to_jsonb(row): a table without a `name` column still lists its ids, the name left empty
    where = f"FROM {table} AS t WHERE t.id::text ILIKE $1 OR coalesce(to_jsonb(t)->>'name', '') ILIKE $1"
    like = like_pattern(args.pattern)
    async with stack_db(ctx) as conn:
        total = int(await conn.fetchval(f"SELECT count(*) {where}", like))
        rows = await conn.fetch(
            f"SELECT t.id::text AS id, to_jsonb(t)->>'name' AS name, to_jsonb(t)->>'active' AS active "
            f"{where} ORDER BY t.id LIMIT {LIST_LIMIT}",
            like,
        )
    bounded = ctx.deps.redact.bounded
    shown = [
        [bounded(row["id"], FIELD_LIMIT), bounded(row["name"] or "", FIELD_LIMIT), _list_state(ctx, row["active"])]
        for row in rows
    ]
    title = t("tenant.list.title", table=table_name(ctx))
    if not shown:
        key = "tenant.list.none_match" if args.pattern else "tenant.list.empty"
        text = t(key, pattern=args.pattern or "", table=table_name(ctx))
        return Result(title=title, blocks=[Text(text)], summary=text)
    summary = t("tenant.list.summary", shown=len(shown), total=total)
    blocks: list[Block] = [Table(t("tenant.list.columns").split("|"), shown)]
    if total > len(shown):
        more = t("tenant.list.more", count=total - len(shown), command=f"{ctx.prefix} tenant list <pattern>")
        blocks.append(Text(more))
        summary = f"{summary} {more}"
    return Result(title=title, blocks=blocks, summary=summary)


def _list_state(ctx: OpContext, active: Any) -> str:
    """`active` as the reader's word; a column that is missing or not a boolean is shown as it is."""
    if active in ("true", "false"):
        return state_word(ctx, active == "true")
    return "?" if active is None else str(active)


@operation("tenant show", TenantArgs)
async def show(ctx: OpContext, args: TenantArgs) -> Result:
    """A tenant's row in the stack's database and how many cache keys it has."""
    t = ctx.t
    row = await fetch_tenant(ctx, args.tenant)
    _, keys = await cache_count(ctx, args.tenant)
    pairs = [*row_fields(ctx, row), (t("tenant.field.cache_keys"), keys)]
    summary = t("tenant.show.summary", tenant=args.tenant, state=state_word(ctx, row.get("active")), keys=keys)
    return Result(title=t("tenant.show.title", tenant=args.tenant), blocks=[Fields(pairs)], summary=summary)


async def set_active(ctx: OpContext, tenant: str, active: bool) -> Any:
    """Set `active` in one transaction and return its previous value; refused if the row is gone."""
    table = table_of(ctx)
    async with stack_db(ctx) as conn, conn.transaction():
        row = await conn.fetchrow(f"SELECT active FROM {table} WHERE id = $1 FOR UPDATE", tenant)
        if row is None:
            raise unknown_tenant(ctx, tenant)
        await conn.execute(f"UPDATE {table} SET active = $2 WHERE id = $1", tenant, active)
    return row["active"]


@operation(
    "tenant disable", TenantArgs, role="admin", destructive="confirm", timeout=600.0, touches=("tenant:{tenant}",)
)
async def disable(ctx: OpContext, args: TenantArgs) -> Result:
    """Turn a tenant off in the database and clear its cache (both reported)."""
    t = ctx.t
    title = t("tenant.disable.title", tenant=args.tenant)
    was = await set_active(ctx, args.tenant, False)
    disabled = t("tenant.disabled", tenant=args.tenant, was=state_word(ctx, was))
    redis = ctx.deps.target_redis
    if redis is None or ctx.config.stack.redis is None:
        text = f"{disabled}; {t('tenant.cache.not_configured')}"
        return await _verified(ctx, Result(title=title, blocks=[Text(text)], summary=text), args.tenant, False)
    try:
        report = await flush_tenant_keys(
            redis, tenant_pattern(ctx.config, args.tenant), on_progress=progress_reporter(ctx)
        )
    except FlushInterrupted as exc:
        text = t(
            "tenant.disabled_flush_failed",
            disabled=disabled,
            deleted=number(t, exc.deleted),
            detail=ctx.deps.redact(short_error(exc.cause)),
            tenant=args.tenant,
        )
        return Result(title=title, blocks=[Text(text)], ok=False, summary=text)
    text = t(
        "tenant.disabled_flushed",
        disabled=disabled,
        deleted=report.deleted,
        seconds=report.seconds,
    )
    return await _verified(ctx, Result(title=title, blocks=[Text(text)], summary=text), args.tenant, False)


async def _verified(ctx: OpContext, result: Result, tenant: str, active: bool) -> Result:
    """The row and the keys as they are now, read again after the step.

    Disabled means `active = false` and no cache key left; enabled means `active = true`,
    with the keys counted for information only (the cache refills as the tenant is used).
    """
    t = ctx.t
    name = t("verify.tenant.row", tenant=tenant, table=table_name(ctx))

    async def read() -> list[Check]:
        now = (await fetch_tenant(ctx, tenant)).get("active")
        detail = t("verify.tenant.row_detail", value=_value(now), state=state_word(ctx, now))
        checks = [check(name, now is active, detail)]
        redis = ctx.deps.target_redis
        if redis is not None and ctx.config.stack.redis is not None:
            pattern = tenant_pattern(ctx.config, tenant)
            if not active:
                checks.append(await tenant_keys_left(ctx, redis, pattern))
            else:
                _, keys = await cache_count(ctx, tenant)
                checks.append(
                    check(t("verify.cache.keys_left", pattern=pattern), True, t("verify.tenant.keys_now", keys=keys))
                )
        return checks

    return verified(result, t, await observe(t, name, read))


@preview_for("tenant disable")
async def disable_preview(ctx: OpContext, args: TenantArgs) -> Result:
    """The row, its current state and how many cache keys would be deleted; changes nothing."""
    t = ctx.t
    row = await fetch_tenant(ctx, args.tenant)
    counted, keys = await cache_count(ctx, args.tenant)
    if row.get("active") is False:
        return _nothing_to_do(ctx, t("tenant.disable.title", tenant=args.tenant), args.tenant, "disable", keys, counted)
    text = t("tenant.preview.disable", tenant=args.tenant, state=state_word(ctx, row.get("active")), keys=keys)
    blocks: list[Block] = [Text(text), Fields(row_fields(ctx, row))]
    if counted is not None:
        blocks.extend(sample_block(ctx, counted))
    return Result(title=t("tenant.disable.title", tenant=args.tenant), blocks=blocks, summary=text)


@operation("tenant enable", TenantArgs, role="admin", destructive="confirm", touches=("tenant:{tenant}",))
async def enable(ctx: OpContext, args: TenantArgs) -> Result:
    """Turn a tenant back on in the database (its cache refills by itself)."""
    t = ctx.t
    was = await set_active(ctx, args.tenant, True)
    text = t("tenant.enabled", tenant=args.tenant, was=state_word(ctx, was))
    result = Result(title=t("tenant.enable.title", tenant=args.tenant), blocks=[Text(text)], summary=text)
    return await _verified(ctx, result, args.tenant, True)


@preview_for("tenant enable")
async def enable_preview(ctx: OpContext, args: TenantArgs) -> Result:
    """The row and its current state; changes nothing."""
    t = ctx.t
    row = await fetch_tenant(ctx, args.tenant)
    if row.get("active") is True:
        return _nothing_to_do(ctx, t("tenant.enable.title", tenant=args.tenant), args.tenant, "enable")
    text = t("tenant.preview.enable", tenant=args.tenant, state=state_word(ctx, row.get("active")))
    return Result(
        title=t("tenant.enable.title", tenant=args.tenant),
        blocks=[Text(text), Fields(row_fields(ctx, row))],
        summary=text,
    )


def _nothing_to_do(
    ctx: OpContext, title: str, tenant: str, verb: str, keys: str = "", counted: KeyCount | None = None
) -> Result:
    """A disable of a disabled tenant (an enable of an enabled one) says so and stops.

    The preview is refused (ok=False), so the confirmation flow asks nothing: no button for a
    step that would change nothing. Keys a disabled tenant still has get their own command.
    """
    t = ctx.t
    text = t(f"tenant.already.{verb}", tenant=tenant)
    if counted is not None and counted.count:
        text += " " + t("tenant.already.keys", keys=keys, command=f"{ctx.prefix} cache flush-tenant {tenant}")
    return Result(title=title, blocks=[Text(text)], ok=False, ephemeral=True, summary=text)
