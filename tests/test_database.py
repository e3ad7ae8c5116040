"""The stack's database on real parts: pg_stat_activity, pg_stat_statements (missing, or
loaded when the server allows), pg_dump/psql backups and restores into a database of the
test's own, the api container stopped and started for real, and the daily schedule."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from confirm_flow import buttons, run_confirmed
from conftest import PG_ADMIN, PG_HOST, RuntimeFactory
from private_postgres import PrivatePostgres, start_private_postgres
from targets import HttpTarget, delayed, start_http_target
from test_steps import PASSWORD, attachment, everything, steps_config

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.jobs.scheduler import JOBS, Notice, Scheduler, next_slot
from bot.output.results import Result, Table, Text
from bot.procedures.backups import BackupStore

SLOT_UTC = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)  # 02:00 in Santiago (UTC-3 in January)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def own_db(run_id: str) -> AsyncIterator[str]:
    """A stack database of this test's own (restores drop and recreate its tables), with a password in its DSN.

    The server trusts local connections, so the password is ignored by Postgres; it is there
    so that the redactor has a real secret to hide.
    """
    name = f"pedidos_{run_id}_{secrets.token_hex(3)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres:{PASSWORD}@{PG_HOST}:5432/{name}"
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true)"
        )
        await conn.execute("INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true), ('zz9', 'Otra', true)")
    finally:
        await conn.close()
    yield url
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def health_api() -> AsyncIterator[HttpTarget]:
    target = await start_http_target({"/health": delayed(0)})
    yield target
    await target.close()


def docker_state(container: str) -> tuple[str, str]:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}", container],
        capture_output=True,
        text=True,
        check=True,
    )
    status, started = out.stdout.split()
    return status, started


@dataclass
class Stack:
    runtime: Runtime
    dsn: str
    backups: Path
    api_container: str


def db_config(project: str, dsn: str, backups: Path, api_url: str, extra: str = "", keep: int = 14) -> str:
    steps = (
        '    migrate: {service: api, run: "echo applying migrations to pedidos"}\n'
        '    migrate_rollback: {service: api, run: "echo resolve --rolled-back {migration}"}\n'
    )
    text = steps_config(project, steps, dsn=dsn, api_url=api_url, extra=extra)
    return text.replace(
        "  docker:\n", f'  backups: {{dir: {backups}, schedule: "0 2 * * *", keep: {keep}}}\n  docker:\n', 1
    )


@pytest.fixture
async def stack(
    make_runtime: RuntimeFactory,
    compose_project: str,
    own_db: str,
    tmp_path: Path,
    health_api: HttpTarget,
    redis_prefix: str,
    request: pytest.FixtureRequest,
) -> Stack:
    backups = tmp_path / "backups"
    prefix = f"{redis_prefix}{request.node.name[:40]}:"
    runtime = await make_runtime(db_config(compose_project, own_db, backups, health_api.url), redis_prefix=prefix)
    return Stack(runtime, own_db, backups, f"{compose_project}-api-1")


async def run(runtime: Runtime, text: str, user: str = "U0OPER") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


async def tenant_ids(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM tenants ORDER BY id")]
    finally:
        await conn.close()


# ---- connections and slow queries ---------------------------------------------------------------


async def test_connections_shows_the_sessions_of_the_stack_database(stack: Stack) -> None:
    other = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        pid = other.get_server_pid()
        result = await run(stack.runtime, "db connections", user="U0VIEW")
    finally:
        await other.close()
    assert result.ok, result.summary
    assert " connection to " in result.summary or " connections to " in result.summary  # the plural follows the count
    text = everything(result)
    assert str(pid) in text and "idle" in text
    assert PASSWORD not in text


async def test_slow_says_pg_stat_statements_is_missing_and_how_to_enable_it(stack: Stack) -> None:
    result = await run(stack.runtime, "db slow 5", user="U0VIEW")
    assert not result.ok
    text = everything(result)
    assert "not installed" in text
    assert "shared_preload_libraries" in text and "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in text


async def _preloaded() -> bool:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        return "pg_stat_statements" in (await conn.fetchval("SHOW shared_preload_libraries"))
    finally:
        await conn.close()


async def test_slow_says_when_the_extension_is_installed_but_not_loaded(stack: Stack) -> None:
    if await _preloaded():
        pytest.skip("this server preloads pg_stat_statements")
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        await conn.execute("CREATE EXTENSION pg_stat_statements")
    finally:
        await conn.close()
    result = await run(stack.runtime, "db slow", user="U0VIEW")
    assert not result.ok
    assert "did not load it" in everything(result)


@pytest.fixture
def preloaded_pg() -> Iterator[PrivatePostgres]:
    """A private server that loads pg_stat_statements (the shared one may not, and cannot be restarted)."""
    server = start_private_postgres(shared_preload_libraries="pg_stat_statements")
    if server is None:
        pytest.skip("cannot start a private Postgres here (initdb/pg_ctl missing)")
    yield server
    server.stop()


async def test_slow_lists_the_slowest_statements_when_the_server_loads_the_extension(
    make_runtime: RuntimeFactory, compose_project: str, preloaded_pg: PrivatePostgres, tmp_path: Path, redis_prefix: str
) -> None:
    conn = await asyncpg.connect(preloaded_pg.url, timeout=5)
    try:
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        for _ in range(2):
            await conn.execute("SELECT pg_sleep(0.1)")
        await conn.execute("SELECT 1")
    finally:
        await conn.close()
    runtime = await make_runtime(
        db_config(compose_project, preloaded_pg.url, tmp_path, "http://127.0.0.1:9"), redis_prefix=redis_prefix
    )
    result = await run(runtime, "db slow 3", user="U0VIEW")
    assert result.ok, result.summary
    table = next(b for b in result.blocks if isinstance(b, Table))
    assert table.columns[0] == "MEAN MS"
    assert "pg_sleep" in table.rows[0][-1] and table.rows[0][1] == "2"
    assert float(table.rows[0][0]) >= 100


# ---- backups and restore ------------------------------------------------------------------------------


async def test_backup_then_restore_brings_back_a_deleted_row(stack: Stack) -> None:
    made = await run(stack.runtime, "db backup")
    assert made.ok, made.summary
    [backup] = BackupStore(str(stack.backups), "America/Santiago").backups()
    assert backup.sha256 is not None
    with gzip.open(backup.path) as dump:
        assert b"Tienda ABC" in dump.read()
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants WHERE id = 'abc123'")
    finally:
        await conn.close()
    assert await tenant_ids(stack.dsn) == ["zz9"]

    done = await run_confirmed(stack.runtime, f"db restore {backup.name}", "U0ADMIN", approver="U0ADMIN2")
    assert done.ok, done.summary
    assert await tenant_ids(stack.dsn) == ["abc123", "zz9"]
    assert docker_state(stack.api_container)[0] == "running"
    steps = next(b.text for b in done.blocks if isinstance(b, Text) and "1. Verify" in b.text)
    assert steps.count("done in") == 5, steps
    assert PASSWORD not in everything(done)


async def test_a_dump_named_by_the_runbooks_cron_script_is_listed_and_restored(stack: Stack) -> None:
    """`backup-db.sh` writes `pedidos_YYYYMMDD.sql.gz` (the runbook's restore names one): listed as
    scheduled and restored, once its checksum is written the way the refusal says (`sha256sum`)."""
    assert (await run(stack.runtime, "db backup")).ok
    [made] = BackupStore(str(stack.backups), "America/Santiago").backups()
    cron = stack.backups / "pedidos_20251107.sql.gz"
    made.path.rename(cron)
    for sidecar in stack.backups.glob(f"{made.name}.*"):
        sidecar.unlink()
    digest = hashlib.sha256(cron.read_bytes()).hexdigest()
    (stack.backups / "pedidos_20251107.sql.gz.sha256").write_text(f"{digest}  pedidos_20251107.sql.gz\n")
    listed = await run(stack.runtime, "db backups", user="U0VIEW")
    assert "pedidos_20251107.sql.gz" in everything(listed) and digest[:12] in everything(listed)
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants WHERE id = 'abc123'")
    finally:
        await conn.close()
    done = await run_confirmed(stack.runtime, "db restore pedidos_20251107.sql.gz", "U0ADMIN", approver="U0ADMIN2")
    assert done.ok, done.summary
    assert await tenant_ids(stack.dsn) == ["abc123", "zz9"]


async def test_a_corrupt_backup_is_refused_before_the_api_is_stopped(stack: Stack) -> None:
    assert (await run(stack.runtime, "db backup")).ok
    [backup] = BackupStore(str(stack.backups), "America/Santiago").backups()
    data = bytearray(backup.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.path.write_bytes(bytes(data))
    before = docker_state(stack.api_container)
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants WHERE id = 'zz9'")
    finally:
        await conn.close()

    done = await run_confirmed(stack.runtime, f"db restore {backup.name}", "U0ADMIN", approver="U0ADMIN2")
    assert not done.ok
    assert "Stopped at step 1 of 5" in done.summary
    assert "What to do next: nothing was stopped or changed" in everything(done)
    assert docker_state(stack.api_container) == before  # never stopped: same status, same start time
    assert await tenant_ids(stack.dsn) == ["abc123"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "pedidos_20251107.sql.gz/../../x"])
async def test_a_path_is_refused_as_a_backup_name(stack: Stack, name: str) -> None:
    result = await run(stack.runtime, f"db restore {name}", user="U0ADMIN")
    assert not result.ok
    assert "is not a backup name" in result.summary
    assert not buttons(result)


async def test_an_unknown_backup_name_is_refused_before_anything_is_parked(stack: Stack) -> None:
    result = await run(stack.runtime, "db restore pedidos_20990101_000000.sql.gz", user="U0ADMIN")
    assert not result.ok
    assert "There is no backup pedidos_20990101_000000.sql.gz" in result.summary
    assert not buttons(result)


async def test_backups_lists_name_size_age_and_prunes_to_keep(
    make_runtime: RuntimeFactory, compose_project: str, own_db: str, tmp_path: Path, redis_prefix: str
) -> None:
    backups = tmp_path / "b"
    backups.mkdir()
    old_ones = (
        "pedidos_20240101_020000.sql.gz",  # scheduled: an on-demand backup never removes these
        "pedidos_20240102_020000.sql.gz",
        "pedidos_20240101_120000_ondemand.sql.gz",
        "pedidos_20240102_120000_ondemand.sql.gz",
    )
    for old in old_ones:
        (backups / old).write_bytes(gzip.compress(b"-- old\n"))
        (backups / f"{old}.sha256").write_text(f"{'0' * 64}  {old}\n")
    (backups / "notes.txt").write_text("not a backup")
    runtime = await make_runtime(
        db_config(compose_project, own_db, backups, "http://127.0.0.1:9", keep=2), redis_prefix=redis_prefix
    )
    made = await run(runtime, "db backup")
    assert made.ok, made.summary
    assert "removed the oldest on-demand backup pedidos_20240101_120000_ondemand.sql.gz" in everything(made)
    names = sorted(p.name for p in backups.iterdir())
    assert "pedidos_20240101_120000_ondemand.sql.gz" not in names
    assert "pedidos_20240101_120000_ondemand.sql.gz.sha256" not in names
    assert "pedidos_20240101_020000.sql.gz" in names and "pedidos_20240102_020000.sql.gz" in names
    assert "pedidos_20240102_120000_ondemand.sql.gz" in names and "notes.txt" in names
    listed = await run(runtime, "db backups", user="U0VIEW")
    text = everything(listed)
    assert "Backups: 4;" in listed.summary and "pedidos_20240102_020000.sql.gz" in text and "ago" in text
    assert "KB" in text or " B" in text


async def test_permissions_in_ops_yml_can_make_backup_admin_only(
    make_runtime: RuntimeFactory, compose_project: str, own_db: str, tmp_path: Path, redis_prefix: str
) -> None:
    config = db_config(
        compose_project, own_db, tmp_path, "http://127.0.0.1:9", extra='permissions:\n  "db backup": admin\n'
    )
    runtime = await make_runtime(config, redis_prefix=redis_prefix)
    refused = await run(runtime, "db backup", user="U0OPER")
    assert not refused.ok and "needs the *admin* role" in refused.summary
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob("pedidos_*")))


# ---- migrations ------------------------------------------------------------------------------------------


async def test_migrate_runs_the_configured_step_in_the_api_container(stack: Stack) -> None:
    done = await run_confirmed(stack.runtime, "db migrate", "U0OPER")
    assert done.ok, done.summary
    assert "applying migrations to pedidos" in attachment(done)


async def test_migrate_rollback_passes_the_migration_as_one_argument(stack: Stack) -> None:
    done = await run_confirmed(stack.runtime, "db migrate-rollback 20251107_add_orders", "U0ADMIN")
    assert done.ok, done.summary
    assert "resolve --rolled-back 20251107_add_orders" in attachment(done)


@pytest.mark.parametrize("name", ["x;rm", "-x", "../m", "a b"])
async def test_migrate_rollback_refuses_a_name_outside_the_pattern(stack: Stack, name: str) -> None:
    result = await run(stack.runtime, f"db migrate-rollback '{name}'", user="U0ADMIN")
    assert not result.ok and "migration" in result.summary
    assert not buttons(result)


# ---- the daily schedule ---------------------------------------------------------------------------------


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def test_the_schedule_is_read_in_the_configured_timezone() -> None:
    assert next_slot("0 2 * * *", "America/Santiago", SLOT_UTC - timedelta(hours=1)) == SLOT_UTC
    july = datetime(2026, 7, 15, 5, 0, tzinfo=UTC)  # Santiago is UTC-4 in July: 02:00 is 06:00 UTC
    assert next_slot("0 2 * * *", "America/Santiago", july) == july + timedelta(hours=1)


async def test_the_daily_backup_runs_on_one_replica_only(
    stack: Stack, make_runtime: RuntimeFactory, compose_project: str, health_api: HttpTarget, redis_prefix: str
) -> None:
    second = await make_runtime(
        db_config(compose_project, stack.dsn, stack.backups, health_api.url), redis_prefix=redis_prefix
    )
    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    replicas = [
        Scheduler(replica.deps, jobs={"db backup": JOBS["db backup"]}, clock=FakeClock(SLOT_UTC - timedelta(seconds=3)),
                  notify=record, replica=name)
        for replica, name in ((stack.runtime, "replica-a"), (second, "replica-b"))
    ]  # fmt: skip
    await asyncio.wait_for(asyncio.gather(*(s.run_job(JOBS["db backup"], max_runs=1) for s in replicas)), 60)

    assert len(BackupStore(str(stack.backups), "America/Santiago").backups()) == 1
    assert [n.result.ok for n in notices] == [True], [n.result.summary for n in notices]
    assert notices[0].slot == SLOT_UTC and notices[0].channel == "C0INCIDENTS" and not notices[0].alert
    async with stack.runtime.deps.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT replica, outcome FROM scheduled_runs WHERE job = 'db backup' AND slot = $1", SLOT_UTC
        )
    assert len(rows) == 1 and rows[0]["outcome"] == "ok"


async def test_a_failed_scheduled_backup_alerts(stack: Stack) -> None:
    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    stack.backups.write_text("a file where the backups directory should be")
    scheduler = Scheduler(stack.runtime.deps, notify=record, clock=FakeClock(SLOT_UTC))
    result = await scheduler.fire(JOBS["db backup"], SLOT_UTC + timedelta(days=1))
    assert result is not None and not result.ok
    assert notices and notices[0].alert


async def test_notices_open_with_an_alert_line_and_carry_no_secret(stack: Stack) -> None:
    """What the queued notice says (its delivery: tests/test_scheduled_notices.py)."""
    from bot.jobs.scheduler import notice_text

    failed = Result(title="Backup", blocks=[Text(f"pg_dump failed for {stack.dsn}")], ok=False, summary="failed")
    text = notice_text(Notice("db backup", SLOT_UTC, failed, alert=True, channel="C0INCIDENTS"), stack.runtime.deps)
    assert text.splitlines()[0].startswith("🚨") and "FAILED" in text.splitlines()[0]
    assert "pg_dump failed" in text and PASSWORD not in text


async def test_a_runtime_that_can_post_starts_the_scheduler_with_the_daily_backup(
    make_runtime: RuntimeFactory, compose_project: str, own_db: str, tmp_path: Path, fresh_db_url: str
) -> None:
    class Recorder:
        async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str:
            return "1.0"

    runtime = await make_runtime(
        db_config(compose_project, own_db, tmp_path, "http://127.0.0.1:9"),
        notifier=Recorder(),
        database_url=fresh_db_url,
    )
    assert runtime.scheduler is not None
    assert runtime.scheduler.cron_of(runtime.scheduler.jobs["db backup"]) == "0 2 * * *"
