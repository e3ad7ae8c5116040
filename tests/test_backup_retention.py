"""Backups on real parts: retention counted per origin (an on-demand backup never removes a
scheduled one, and every removal is named in the answer), and no password in the argv of
pg_dump or psql whichever way the DSN carries it (read from /proc while they run)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import secrets
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from conftest import PG_HOST, RuntimeFactory
from test_database import SLOT_UTC, FakeClock, _admin, db_config, run, tenant_ids
from test_steps import PASSWORD, everything

from bot.jobs.scheduler import JOBS, Notice, Scheduler
from bot.output.results import Result
from bot.procedures import backups as backup_module
from bot.procedures.backups import ON_DEMAND, SCHEDULED, BackupFile, BackupStore, dump, restore
from bot.procedures.steps import StepOutput

TZ = "America/Santiago"
SPEC_NAME = re.compile(r"pedidos_[0-9]{8}_[0-9]{6}\.sql\.gz")  # stack.backups.dir in the spec


@pytest.fixture
async def target_db(run_id: str) -> AsyncIterator[str]:
    """A stack database of this test's own, as in test_database: tenants abc123 and zz9, a password in its DSN
    (the server trusts local connections and ignores it; it is there to be kept out of argv)."""
    name = f"pedidos_{run_id}_{secrets.token_hex(3)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres:{PASSWORD}@{PG_HOST}:5432/{name}"
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute("CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL)")
        await conn.execute("INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true), ('zz9', 'Otra', true)")
    finally:
        await conn.close()
    yield url
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _next_second() -> None:
    """Names carry the second a backup started: two in the same second would collide."""
    await asyncio.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)


def _store(directory: Path) -> BackupStore:
    return BackupStore(str(directory), TZ)


async def test_on_demand_backups_never_remove_scheduled_ones_and_name_what_they_remove(
    make_runtime: RuntimeFactory, compose_project: str, target_db: str, tmp_path: Path, redis_prefix: str
) -> None:
    backups = tmp_path / "backups"
    runtime = await make_runtime(
        db_config(compose_project, target_db, backups, "http://127.0.0.1:9", keep=5), redis_prefix=redis_prefix
    )
    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    first_night = SLOT_UTC + timedelta(days=400)  # slots of this test's own: the bot's database keeps claims
    scheduler = Scheduler(runtime.deps, notify=record, clock=FakeClock(first_night))
    for night in range(5):  # five nightly backups, made by the scheduler with real pg_dump
        result = await scheduler.fire(JOBS["db backup"], first_night + timedelta(days=night))
        assert result is not None and result.ok, result and result.summary
        await _next_second()
    nightly = [b.name for b in _store(backups).backups()]
    assert len(nightly) == 5 and all(_store(backups).get(n).origin == SCHEDULED for n in nightly)  # type: ignore[union-attr]

    answers: list[Result] = []
    for _ in range(6):  # six on-demand backups in a row, keep 5
        answer = await run(runtime, "db backup")
        assert answer.ok, answer.summary
        answers.append(answer)
        await _next_second()

    listed = _store(backups).backups()
    scheduled = [b.name for b in listed if b.origin == SCHEDULED]
    on_demand = [b.name for b in listed if b.origin == ON_DEMAND]
    assert sorted(scheduled) == sorted(nightly), "an on-demand backup removed a scheduled one"
    assert len(on_demand) == 5
    assert all(SPEC_NAME.fullmatch(b.name) for b in listed), "every dump keeps the spec's name"
    assert all((backups / f"{n}.origin").read_text() == "on-demand\n" for n in on_demand)
    assert not any((backups / f"{n}.origin").exists() for n in scheduled)
    first_on_demand = next(b for b in answers[0].blocks if ".sql.gz" in everything_of(b))
    first_name = _name_in(everything_of(first_on_demand))
    assert first_name not in on_demand
    for quiet in answers[:5]:
        assert "no backup removed" in everything(quiet)
        assert "removed the oldest" not in everything(quiet)
    assert f"removed the oldest on-demand backup {first_name}" in everything(answers[5])
    assert not (backups / f"{first_name}.sha256").exists()
    assert not (backups / f"{first_name}.origin").exists()

    # every scheduled restore point is still complete: its checksum matches and it inflates
    for name in scheduled:
        backup = _store(backups).get(name)
        assert backup is not None and backup.sha256 is not None
        with gzip.open(backup.path) as data:
            assert b"Tienda ABC" in data.read()


def everything_of(block: object) -> str:
    return everything(Result(title="", blocks=[block]))  # type: ignore[list-item]


def _name_in(text: str) -> str:
    [name] = {word.strip("`*,") for word in text.split() if word.strip("`*,").endswith(".sql.gz")}
    return name if name.startswith("pedidos_") else name[name.index("pedidos_") :]


def test_a_scheduled_prune_leaves_on_demand_backups_and_old_names_count_as_scheduled(tmp_path: Path) -> None:
    names = [
        "pedidos_20240101_020000.sql.gz",  # a name from before origins: scheduled
        "pedidos_20240102_020000.sql.gz",
        "pedidos_20240101_120000_ondemand.sql.gz",
        "pedidos_20240103_020000.sql.gz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(gzip.compress(b"-- x\n"))
        (tmp_path / f"{name}.sha256").write_text(f"{'0' * 64}  {name}\n")
    store = _store(tmp_path)
    assert [b.name for b in store.backups()] == [names[3], names[1], names[2], names[0]]  # newest first, by time
    assert store.prune(1, SCHEDULED) == ["pedidos_20240101_020000.sql.gz", "pedidos_20240102_020000.sql.gz"]
    assert store.prune(1, ON_DEMAND) == []
    assert sorted(b.name for b in store.backups()) == sorted([names[2], names[3]])


def test_the_origin_is_in_a_sidecar_and_the_cron_scripts_day_names_are_listed_as_scheduled(tmp_path: Path) -> None:
    """Issue 21: one name format for both origins; `backup-db.sh`'s `pedidos_YYYYMMDD.sql.gz` listed and kept."""
    names = {
        "pedidos_20251107.sql.gz": None,  # the runbook's own cron script (no sidecars but a hand-written checksum)
        "pedidos_20251107_120000.sql.gz": "on-demand",
        "pedidos_20251108_020000.sql.gz": None,
        "pedidos_20251108_130000.sql.gz": "on-demand",
    }
    for name, origin in names.items():
        (tmp_path / name).write_bytes(gzip.compress(b"-- x\n"))
        (tmp_path / f"{name}.sha256").write_text(f"{'0' * 64}  {name}\n")
        if origin:
            (tmp_path / f"{name}.origin").write_text(f"{origin}\n")
    store = _store(tmp_path)
    listed = store.backups()
    assert [b.name for b in listed] == [
        "pedidos_20251108_130000.sql.gz",
        "pedidos_20251108_020000.sql.gz",
        "pedidos_20251107_120000.sql.gz",
        "pedidos_20251107.sql.gz",
    ]
    assert [b.origin for b in listed] == [ON_DEMAND, SCHEDULED, ON_DEMAND, SCHEDULED]
    assert store.get("pedidos_20251107.sql.gz") is not None, "the cron script's dump can be restored"
    assert store.prune(1, ON_DEMAND) == ["pedidos_20251107_120000.sql.gz"]
    assert not (tmp_path / "pedidos_20251107_120000.sql.gz.origin").exists()
    assert store.prune(1, SCHEDULED) == ["pedidos_20251107.sql.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "pedidos_20251108_020000.sql.gz",
            "pedidos_20251108_020000.sql.gz.sha256",
            "pedidos_20251108_130000.sql.gz",
            "pedidos_20251108_130000.sql.gz.origin",
            "pedidos_20251108_130000.sql.gz.sha256",
        ]
    )


# ---- the password never in argv --------------------------------------------------------------------


def _children() -> list[tuple[list[str], dict[str, str]]]:
    """The argv and environment of every child of this test process (pg_dump and psql, here)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != os.getpid():
                continue
            argv = [a.decode() for a in Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0") if a]
            if not argv:  # a child between fork and exec, or already a zombie: nothing to read yet
                continue
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            found.append((argv, dict(item.decode().split("=", 1) for item in environ if b"=" in item)))
    return found


async def _argv_while_running(program: str, seen: list[list[str]], timeout: float = 30.0) -> dict[str, str]:
    """Poll /proc until `program` itself runs (Debian's pg_wrapper execs it); record every argv seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for argv, env in await asyncio.to_thread(_children):
            seen.append(argv)
            if argv and argv[0].endswith(f"/{program}") and "--dbname" in argv:
                return env
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {program} child seen within {timeout:g}s; saw {seen[-3:]}")


@contextlib.asynccontextmanager
async def _tenants_locked(dsn: str) -> AsyncIterator[None]:
    """Hold an exclusive lock on the table, so pg_dump (and psql's DROP) wait while /proc is read."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


def _password_in_query(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.replace(f":{PASSWORD}@", "@")
    return urlunsplit((parts.scheme, netloc, parts.path, f"sslmode=disable&password={PASSWORD}", ""))


@pytest.mark.parametrize("form", ["user-info", "query-string"])
async def test_the_password_is_never_in_the_argv_of_pg_dump_or_psql(target_db: str, tmp_path: Path, form: str) -> None:
    dsn = target_db if form == "user-info" else _password_in_query(target_db)
    assert PASSWORD in dsn
    seen: list[list[str]] = []
    store = _store(tmp_path)
    async with _tenants_locked(target_db):
        task = asyncio.create_task(dump(store, "pedidos_20260101_000000_ondemand.sql.gz", dsn, StepOutput(str), 120))
        dump_env = await _argv_while_running("pg_dump", seen)
    made: BackupFile = await asyncio.wait_for(task, 120)
    assert dump_env.get("PGPASSWORD") == PASSWORD

    conn = await asyncpg.connect(target_db, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants")
    finally:
        await conn.close()
    async with _tenants_locked(target_db):
        task = asyncio.create_task(restore(made, dsn, StepOutput(str), 120))
        restore_env = await _argv_while_running("psql", seen)
    await asyncio.wait_for(task, 120)
    assert restore_env.get("PGPASSWORD") == PASSWORD
    assert await tenant_ids(target_db) == ["abc123", "zz9"]  # the password reached the server's side as before

    assert any(a[0].endswith("/pg_dump") for a in seen) and any(a[0].endswith("/psql") for a in seen)
    leaked = [argv for argv in seen if any(PASSWORD in word for word in argv)]
    assert not leaked, f"the password is in a child's argv: {leaked[0]}"
    dbname = [argv[argv.index("--dbname") + 1] for argv in seen if "--dbname" in argv]
    assert all(urlsplit(value).path == urlsplit(target_db).path for value in dbname)
    if form == "query-string":
        assert all("sslmode=disable" in value for value in dbname)  # other parameters stay


# ---- parallel compression ----------------------------------------------------------------------


async def test_a_dump_of_many_gzip_members_verifies_gunzips_and_restores(
    target_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces of 8 KiB (not 4 MiB) so that even this small dump is many members, compressed out of order."""
    monkeypatch.setattr(backup_module, "BLOCK", 8 * 1024)
    conn = await asyncpg.connect(target_db, timeout=5)
    try:
        await conn.execute("INSERT INTO tenants SELECT 'bulk' || g, md5(g::text), true FROM generate_series(1, 5000) g")
    finally:
        await conn.close()
    store = _store(tmp_path)
    made = await dump(store, "pedidos_20260101_000000_ondemand.sql.gz", target_db, StepOutput(str), 120)
    gunzip = backup_module.Gunzip()
    for _ in gunzip.feed(made.path.read_bytes()):
        pass
    assert gunzip.members > 10
    verified = backup_module.verify_file(made.path, made.sha256)
    assert verified.sha256 == made.sha256
    tested = await asyncio.to_thread(subprocess.run, ["gzip", "-t", str(made.path)], capture_output=True)
    assert tested.returncode == 0, tested.stderr  # one valid gzip file for gunzip (and pg_restore, zcat)
    with gzip.open(made.path) as text:
        assert text.read().count(b"\nbulk") == 5000

    conn = await asyncpg.connect(target_db, timeout=5)
    try:
        await conn.execute("DELETE FROM tenants")
    finally:
        await conn.close()
    await restore(made, target_db, StepOutput(str), 120)
    assert len(await tenant_ids(target_db)) == 5002
