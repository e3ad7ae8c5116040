"""Runbook "Gestión de Base de Datos" and "Backups y Recuperación": the stack's Postgres.

Connections and slow queries are read-only SQL. Migrations are the configured
`stack.steps.migrate` / `migrate_rollback` lines, run by the step runner. Backups are
files made by `pg_dump | gzip` (bot/procedures/backups.py); a restore runs the runbook's order as
steps of one message: verify the file, stop api, restore, start api, health check, so
that a bad file is refused while the api is still serving.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
from pydantic import AfterValidator, Field, ValidationInfo

from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation, preview_for
from bot.jobs.scheduler import scheduled
from bot.output.results import Block, Button, Buttons, Fields, Result, Table, Text
from bot.procedures.backups import (
    ON_DEMAND,
    SCHEDULED,
    BackupFile,
    BackupStore,
    Origin,
    backup_name,
    human_size,
    valid_name,
    verify_file,
)
from bot.procedures.backups import dump as dump_database
from bot.procedures.backups import restore as restore_database
from bot.procedures.steps import Procedure, Step, StepOutput, configured_step
from bot.storage.database import short_error
from bot.text.durations import format_duration
from bot.text.errors import BotError, TargetError
from bot.text.messages import Catalog
from handlers.procedures import health_step, service_step
from handlers.step_checks import verified_procedure

API_SERVICE = "api"
BACKUP_TIMEOUT = 4 * 3600.0
MIGRATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
_MIGRATION = re.compile(MIGRATION_PATTERN)
MAX_CONNECTION_ROWS = 200
QUERY_HEAD = 80
_PG_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def _catalog(info: ValidationInfo) -> Catalog:
    return (info.context or {}).get("t") or Catalog()


def _migration(value: str, info: ValidationInfo) -> str:
    if not _MIGRATION.fullmatch(value):
        raise ValueError(_catalog(info)("arg.bad_migration"))
    return value


def _backup(value: str, info: ValidationInfo) -> str:
    """A backup's name as `/ops db backups` lists it; anything with a path in it is refused here."""
    if not valid_name(value):
        raise ValueError(_catalog(info)("arg.bad_backup"))
    return value


MigrationName = Annotated[str, Field(max_length=128), AfterValidator(_migration)]
BackupName = Annotated[str, Field(max_length=64), AfterValidator(_backup)]


# ---- the stack's database ----------------------------------------------------------------------


def dsn_of(ctx: OpContext) -> str:
    if ctx.config.stack.postgres is None or ctx.deps.target_db is None:
        raise BotError("error.not_configured", key="stack.postgres")
    return ctx.config.stack.postgres.dsn


def database_name(ctx: OpContext) -> str:
    return urlsplit(dsn_of(ctx)).path.lstrip("/") or "?"


@asynccontextmanager
async def stack_db(ctx: OpContext) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the stack's Postgres; a failing query becomes a TargetError, redacted."""
    dsn_of(ctx)
    assert ctx.deps.target_db is not None
    async with ctx.deps.target_db.connection() as conn:
        try:
            yield conn
        except _PG_FAILURES as exc:
            raise TargetError("postgres", ctx.deps.redact(short_error(exc))) from None


def _age(seconds: float | None) -> str:
    return format_duration(timedelta(seconds=max(0.0, seconds))) if seconds is not None else "—"


@operation("db connections", NoArgs)
async def connections(ctx: OpContext, args: NoArgs) -> Result:
    """Connections to the stack's database (pg_stat_activity): pid, user, state, age, query."""
    async with stack_db(ctx) as conn:
        rows = await conn.fetch(
            """
            SELECT pid, usename, state,
                   extract(epoch FROM now() - coalesce(state_change, backend_start))::float8 AS age,
                   left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), $1) AS query
            FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            ORDER BY age DESC NULLS LAST
            LIMIT $2
            """,
            QUERY_HEAD,
            MAX_CONNECTION_ROWS,
        )
        total, limit = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
            " current_setting('max_connections')::int"
        )
    db = database_name(ctx)
    title = ctx.t("db.connections.title", db=db)
    by_state: dict[str, int] = {}
    for row in rows:
        state = row["state"] or "—"
        by_state[state] = by_state.get(state, 0) + 1
    states = ", ".join(f"{count} {state}" for state, count in sorted(by_state.items(), key=lambda kv: -kv[1]))
    summary = ctx.t("db.connections.summary", count=len(rows), db=db, states=states or "—", total=total, max=limit)
    if not rows:
        return Result(title=title, blocks=[Text(summary)], summary=summary)
    table = Table(
        ctx.t("db.connections.columns").split("|"),
        [
            [str(r["pid"]), r["usename"] or "—", r["state"] or "—", _age(r["age"]), ctx.deps.redact(r["query"] or "")]
            for r in rows
        ],
    )
    return Result(title=title, blocks=[Text(summary), table], summary=summary)


class SlowArgs(OpArgs):
    count: int = positional(10, metavar="N", ge=1, le=100)


_SLOW_SQL = """
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query, calls, {mean} AS mean, {total} AS total, rows
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY {mean} DESC
LIMIT $1
"""


@dataclass(frozen=True)
class SlowStatements:
    """pg_stat_statements' slowest rows, or why there are none (`missing`: a catalog key)."""

    rows: list[asyncpg.Record]
    missing: str | None = None
    preload: str = ""
    available: bool = True


async def slow_statements(conn: asyncpg.Connection, count: int) -> SlowStatements:
    """The `count` slowest statements by mean time; `missing` says when the extension is not there."""
    installed = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'")
    preload = await conn.fetchval("SELECT current_setting('shared_preload_libraries')")
    if installed is None:
        available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
        return SlowStatements([], "db.slow.not_installed", preload, available is not None)
    try:
        rows = await conn.fetch(_SLOW_SQL.format(mean="mean_exec_time", total="total_exec_time"), count)
    except asyncpg.UndefinedColumnError:  # Postgres 12 and older name them mean_time / total_time
        rows = await conn.fetch(_SLOW_SQL.format(mean="mean_time", total="total_time"), count)
    except asyncpg.ObjectNotInPrerequisiteStateError:
        return SlowStatements([], "db.slow.not_loaded", preload, True)
    return SlowStatements(list(rows), None, preload)


@operation("db slow", SlowArgs)
async def slow(ctx: OpContext, args: SlowArgs) -> Result:
    """The slowest queries by mean time (pg_stat_statements), or how to enable it."""
    db = database_name(ctx)
    title = ctx.t("db.slow.title", count=args.count, db=db)
    async with stack_db(ctx) as conn:
        found = await slow_statements(conn, args.count)
    if found.missing is not None:
        return _slow_missing(ctx, title, found.missing, db, found.preload, found.available)
    rows = found.rows
    if not rows:
        summary = ctx.t("db.slow.empty", db=db)
        return Result(title=title, blocks=[Text(summary)], summary=summary)
    table = Table(
        ctx.t("db.slow.columns").split("|"),
        [
            [f"{r['mean']:.1f}", str(r["calls"]), f"{r['total']:.0f}", str(r["rows"]), ctx.deps.redact(r["query"])]
            for r in rows
        ],
    )
    summary = ctx.t("db.slow.summary", count=len(rows), db=db, worst=f"{rows[0]['mean']:.1f}")
    return Result(title=title, blocks=[Text(summary), table], summary=summary)


def _slow_missing(ctx: OpContext, title: str, key: str, db: str, preload: str, available: bool) -> Result:
    text = ctx.t(key, db=db, preload=preload or "''")
    blocks: list[Block] = [Text(text), Text(ctx.t("db.slow.how_to_enable", db=db))]
    if not available:
        blocks.append(Text(ctx.t("db.slow.not_available")))
    return Result(title=title, blocks=blocks, ok=False, summary=text)


# ---- migrations -------------------------------------------------------------------------------------


def _step_preview(ctx: OpContext, title: str, step: Step, note: str) -> Result:
    return Result(title=title, blocks=[Text(ctx.t("steps.preview", label=step.label)), Text(note)])


@operation("db migrate", NoArgs, role="operator", destructive="confirm", timeout=3600, long=True, touches=("database",))
async def migrate(ctx: OpContext, args: NoArgs) -> Result:
    """Apply pending migrations of the stack (make migrate: stack.steps.migrate)."""
    step = configured_step(ctx, "migrate", hint=ctx.t("db.migrate.hint"))
    procedure = Procedure(ctx, ctx.t("db.migrate.title"), [step], filename="db-migrate-output.txt")
    await procedure.run()
    return await verified_procedure(ctx, procedure, [step])


@preview_for("db migrate")
async def migrate_preview(ctx: OpContext, args: NoArgs) -> Result:
    step = configured_step(ctx, "migrate")
    return _step_preview(ctx, ctx.t("db.migrate.title"), step, ctx.t("db.migrate.preview"))


class MigrationArgs(OpArgs):
    migration: MigrationName = positional(metavar="migration")


@operation(
    "db migrate-rollback",
    MigrationArgs,
    role="admin",
    destructive="confirm",
    timeout=3600,
    long=True,
    touches=("database",),
)
async def migrate_rollback(ctx: OpContext, args: MigrationArgs) -> Result:
    """Mark a failed migration as rolled back (prisma migrate resolve --rolled-back)."""
    step = configured_step(
        ctx, "migrate_rollback", hint=ctx.t("db.migrate_rollback.hint"), values={"migration": args.migration}
    )
    title = ctx.t("db.migrate_rollback.title", migration=args.migration)
    procedure = Procedure(ctx, title, [step], filename=f"db-migrate-rollback-{args.migration}.txt")
    await procedure.run()
    return await verified_procedure(ctx, procedure, [step])


@preview_for("db migrate-rollback")
async def migrate_rollback_preview(ctx: OpContext, args: MigrationArgs) -> Result:
    step = configured_step(ctx, "migrate_rollback", values={"migration": args.migration})
    title = ctx.t("db.migrate_rollback.title", migration=args.migration)
    return _step_preview(ctx, title, step, ctx.t("db.migrate_rollback.preview", migration=args.migration))


# ---- backups ------------------------------------------------------------------------------------------


def store_of(ctx: OpContext) -> BackupStore:
    backups = ctx.config.stack.backups
    if backups is None:
        raise BotError("error.not_configured", key="stack.backups")
    return BackupStore(backups.dir, ctx.config.timezone)


def _ago(ctx: OpContext, moment: datetime) -> str:
    return ctx.t.ago(datetime.now(UTC) - moment)


def pruned_note(ctx: OpContext, origin: Origin, removed: list[str], keep: int) -> str:
    """What the prune step did, naming every file it removed: a restore point never goes silently."""
    t = ctx.t
    names = ", ".join(removed)
    if origin == ON_DEMAND:
        if not removed:
            return t("db.backup.pruned_none.on_demand", keep=keep)
        if len(removed) == 1:
            return t("db.backup.pruned_one.on_demand", name=names, keep=keep)
        return t("db.backup.pruned_many.on_demand", count=len(removed), names=names, keep=keep)
    if not removed:
        return t("db.backup.pruned_none.scheduled", keep=keep)
    if len(removed) == 1:
        return t("db.backup.pruned_one.scheduled", name=names, keep=keep)
    return t("db.backup.pruned_many.scheduled", count=len(removed), names=names, keep=keep)


def prune_label(ctx: OpContext, origin: Origin, keep: int) -> str:
    if origin == ON_DEMAND:
        return ctx.t("steps.label.prune.on_demand", keep=keep)
    return ctx.t("steps.label.prune.scheduled", keep=keep)


async def take_backup(ctx: OpContext, origin: Origin) -> Result:
    """pg_dump | gzip into backups.dir, then prune `origin`'s backups to `keep`: two steps of one message.

    Retention is per origin (bot/procedures/backups.py): an on-demand backup never removes a scheduled one.
    """
    store = store_of(ctx)
    dsn = dsn_of(ctx)
    keep = ctx.config.stack.backups.keep if ctx.config.stack.backups else 14
    name = backup_name(datetime.now(UTC), ctx.config.timezone)
    made: list[BackupFile] = []
    removed: list[str] = []

    async def dump_step(output: StepOutput) -> str | None:
        made.append(await dump_database(store, name, dsn, output, BACKUP_TIMEOUT, origin))
        return human_size(made[0].size, ctx.t.locale)

    async def prune_step(output: StepOutput) -> str | None:
        removed.extend(await asyncio.to_thread(store.prune, keep, origin))
        for old in removed:
            output.line(ctx.t("db.backup.pruned_line", name=old))
        return pruned_note(ctx, origin, removed, keep)

    steps = [
        Step(ctx.t("steps.label.dump", name=name, dir=str(store.dir)), dump_step, hint=ctx.t("db.backup.dump_hint")),
        Step(prune_label(ctx, origin, keep), prune_step, hint=ctx.t("db.backup.prune_hint")),
    ]
    procedure = Procedure(ctx, ctx.t("db.backup.title", db=database_name(ctx)), steps, filename=f"{name}.log")
    await procedure.run()
    extra: list[Block] = []
    if made:
        backup = made[0]
        extra.append(
            Fields(
                [
                    (ctx.t("db.field.name"), backup.name),
                    (ctx.t("db.field.size"), human_size(backup.size, ctx.t.locale)),
                    ("sha256", backup.sha256 or "—"),
                    (ctx.t("db.field.dir"), str(store.dir)),
                ]
            )
        )
    if removed:
        extra.append(Text(pruned_note(ctx, origin, removed, keep)))
    return procedure.result(*extra)


@operation("db backup", NoArgs, role="operator", timeout=BACKUP_TIMEOUT + 60, long=True)
async def backup(ctx: OpContext, args: NoArgs) -> Result:
    """Back up the stack's database now (make db-backup): pg_dump | gzip into backups.dir."""
    return await take_backup(ctx, ON_DEMAND)


@scheduled("db backup", lambda config: config.stack.backups.schedule if config.stack.backups else None)
async def daily_backup(ctx: OpContext) -> Result:
    """The runbook's daily cron backup, on `stack.backups.schedule` in `timezone`."""
    return await take_backup(ctx, SCHEDULED)


@operation("db backups", NoArgs)
async def backups(ctx: OpContext, args: NoArgs) -> Result:
    """The backups that `/ops db restore` accepts: name, size, age."""
    store = store_of(ctx)
    found = await asyncio.to_thread(store.backups)
    title = ctx.t("db.backups.title", dir=str(store.dir))
    if not found:
        text = ctx.t("db.backups.none", dir=str(store.dir))
        return Result(title=title, blocks=[Text(text)], summary=text)
    rows = [
        [
            b.name,
            human_size(b.size, ctx.t.locale),
            _ago(ctx, b.modified),
            (b.sha256 or ctx.t("db.backups.no_checksum"))[:12],
        ]
        for b in found
    ]
    summary = ctx.t("db.backups.summary", count=len(found), newest=found[0].name, age=_ago(ctx, found[0].modified))
    return Result(
        title=title, blocks=[Text(summary), Table(ctx.t("db.backups.columns").split("|"), rows)], summary=summary
    )


class RestoreArgs(OpArgs):
    backup: BackupName = positional(metavar="backup")


async def _listed(ctx: OpContext, name: str) -> BackupFile | None:
    return await asyncio.to_thread(store_of(ctx).get, name)


def _unknown_backup(ctx: OpContext, name: str) -> Result:
    text = ctx.t("db.restore.unknown", name=name, prefix=ctx.prefix)
    return Result(title=ctx.t("db.restore.title", name=name), blocks=[Text(text)], ok=False, summary=text)


@operation(
    "db restore",
    RestoreArgs,
    role="admin",
    destructive="critical",
    timeout=BACKUP_TIMEOUT + 600,
    long=True,
    touches=("database", f"service:{API_SERVICE}"),
)
async def restore(ctx: OpContext, args: RestoreArgs) -> Result:
    """Restore the stack's database from a backup: verify, stop api, restore, start api, health check."""
    dsn = dsn_of(ctx)
    found = await _listed(ctx, args.backup)
    if found is None:
        return _unknown_backup(ctx, args.backup)
    backup_file = found
    t = ctx.t

    async def verify(output: StepOutput) -> str | None:
        verified = await asyncio.to_thread(verify_file, backup_file.path, backup_file.sha256)
        output.line(
            t(
                "db.restore.verified_line",
                size=human_size(verified.size, t.locale),
                inflated=human_size(verified.inflated, t.locale),
            )
        )
        return t("db.restore.verified", sha=verified.sha256[:12])

    async def run_restore(output: StepOutput) -> str | None:
        await restore_database(backup_file, dsn, output, BACKUP_TIMEOUT)
        if ctx.deps.target_db is not None:
            await ctx.deps.target_db.close()  # the tables were recreated: no pooled connection keeps old plans
        return None

    steps = [
        Step(
            t("steps.label.verify", name=backup_file.name), verify, hint=t("db.restore.hint.verify", prefix=ctx.prefix)
        ),
        service_step(ctx, API_SERVICE, "stop", hint=t("db.restore.hint.stop", prefix=ctx.prefix)),
        Step(
            t("steps.label.restore", name=backup_file.name, db=database_name(ctx)),
            run_restore,
            hint=t("db.restore.hint.restore", prefix=ctx.prefix, service=API_SERVICE),
        ),
        service_step(ctx, API_SERVICE, "start", hint=t("db.restore.hint.start", prefix=ctx.prefix)),
        health_step(ctx, hint=t("db.restore.hint.health", prefix=ctx.prefix)),
    ]
    procedure = Procedure(
        ctx, t("db.restore.title", name=backup_file.name), steps, filename=f"restore-{backup_file.name}.log"
    )
    await procedure.run()
    extra: list[Block] = []
    failed = procedure.failed_step
    if failed is not None and failed in steps[2:4]:  # the api was stopped and is not known to run again
        extra.append(
            Buttons([Button(t("db.restore.button.start", service=API_SERVICE), f"{ctx.prefix} start {API_SERVICE}")])
        )
    return await verified_procedure(ctx, procedure, steps[:4], *extra, shown=steps[2])


@preview_for("db restore")
async def restore_preview(ctx: OpContext, args: RestoreArgs) -> Result:
    found = await _listed(ctx, args.backup)
    if found is None:
        return _unknown_backup(ctx, args.backup)
    title = ctx.t("db.restore.title", name=found.name)
    fields = Fields(
        [
            (ctx.t("db.field.name"), found.name),
            (ctx.t("db.field.size"), human_size(found.size, ctx.t.locale)),
            (ctx.t("db.field.age"), _ago(ctx, found.modified)),
            ("sha256", found.sha256 or ctx.t("db.backups.no_checksum")),
            (ctx.t("db.field.database"), database_name(ctx)),
        ]
    )
    if found.sha256 is None:
        text = ctx.t("backup.no_checksum", name=found.name)
        return Result(title=title, blocks=[fields, Text(text)], ok=False, summary=text)
    return Result(title=title, blocks=[fields, Text(ctx.t("db.restore.preview", service=API_SERVICE))])
