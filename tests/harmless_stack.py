"""A stack every operation can be pointed at without harm, for tests that run all of them.

Everything an operation reads is real, so previews are computed for real: the stack's
Postgres (this run's `tenants` table), a private redis-server with a few tenants' keys,
a git checkout with two commits, a backups directory with one verified backup, and the
Docker engine, asked about a compose project that has no containers (so start/up/restart
find nothing to act on). The API and Bull Board point at a closed port. Configured steps
are `true`. `snapshot()` reads every target's state, so a test can prove nothing changed.

The bot's own database is one of its own (incidents declared by these tests must not be
paged by another test's bot).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from conftest import PG_ADMIN, REDIS_URL, base_config
from private_redis import PrivateRedis, free_port, start_private_redis

from bot.app import runtime as rt
from bot.app.runtime import Runtime
from bot.config.ops_yml import load_config
from bot.config.settings import Settings

BACKUP = "pedidos_20250101_020000.sql.gz"
SEED_KEYS = {
    **{f"tenant:abc123:order:{n}": f"o{n}" for n in range(5)},
    **{f"tenant:zz9:cart:{n}": f"c{n}" for n in range(3)},
    "session:global": "s",
}


@dataclass
class Snapshot:
    tenants: list[tuple[Any, ...]]
    keys: dict[bytes, bytes | None]
    backups: list[str]
    head: str


@dataclass
class HarmlessStack:
    runtime: Runtime
    target_db_url: str
    bot_db_url: str
    redis: PrivateRedis
    backups: Path
    repo: Path
    commit: str

    async def snapshot(self) -> Snapshot:
        conn = await asyncpg.connect(self.target_db_url, timeout=5)
        try:
            tenants = [tuple(r) for r in await conn.fetch("SELECT * FROM tenants ORDER BY id")]
        finally:
            await conn.close()
        client = self.redis.client()
        try:
            keys = {k: client.get(k) for k in sorted(client.scan_iter(count=1000))}
        finally:
            client.close()
        head = _git(self.repo, "rev-parse", "HEAD")
        return Snapshot(tenants, keys, sorted(p.name for p in self.backups.iterdir()), head)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=10)
    return done.stdout.strip()


def _make_repo(path: Path) -> str:
    """Two commits; returns the first (a commit `deploy rollback` accepts)."""
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "Dev")
    _git(path, "config", "user.email", "dev@example.com")
    for version in ("v1", "v2"):
        (path / "app.txt").write_text(version + "\n")
        _git(path, "add", ".")
        _git(path, "commit", "-q", "-m", f"Version {version}")
    return _git(path, "rev-list", "--max-parents=0", "HEAD")


def _make_backup(directory: Path) -> None:
    directory.mkdir()
    data = gzip.compress(b"-- an empty dump\n")
    (directory / BACKUP).write_bytes(data)
    (directory / f"{BACKUP}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {BACKUP}\n")


def harmless_config(
    *, target_db: str, target_redis: str, backups: Path, repo: Path, roles: dict[str, list[str]], extra: str = ""
) -> str:
    closed = f"http://127.0.0.1:{free_port()}"
    text = base_config(
        api_url=closed,
        timeout="1s",
        project=f"nocontainers{secrets.token_hex(3)}",
        target_db=target_db,
        target_redis=target_redis,
        roles=roles,
        extra=extra,
    )
    stack = (
        f"  bull_board: {{base_url: {closed}/admin/queues, queues: [payments]}}\n"
        f"  backups: {{dir: {backups}, keep: 14}}\n"
        f"  repo: {repo}\n"
        "  steps:\n"
        f"    migrate: {{cwd: {repo}, run: 'true'}}\n"
        f"    migrate_rollback: {{cwd: {repo}, run: 'true {{migration}}'}}\n"
        f"    build: {{cwd: {repo}, run: 'true'}}\n"
        f"    deploy: {{cwd: {repo}, run: 'true'}}\n"
    )
    return text.replace("  docker:\n", stack + "  docker:\n", 1)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def harmless_stack(
    workdir: Path,
    target_db_url: str,
    redis_prefix: str,
    roles: dict[str, list[str]],
    extra: str = "",
) -> AsyncIterator[HarmlessStack]:
    """Start the stack's private Redis, the bot's own database and an in-process bot on them."""
    name = f"opsbot_harmless_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    bot_db = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    redis = await asyncio.to_thread(start_private_redis)
    runtime: Runtime | None = None
    try:
        client = redis.client()
        client.mset(SEED_KEYS)
        client.close()
        backups = workdir / "backups"
        _make_backup(backups)
        repo = workdir / "repo"
        commit = _make_repo(repo)
        path = workdir / "ops.yml"
        path.write_text(
            harmless_config(
                target_db=target_db_url, target_redis=redis.url, backups=backups, repo=repo, roles=roles, extra=extra
            )
        )
        settings = Settings(
            ops_config=str(path),
            database_url=bot_db,
            redis_url=REDIS_URL,
            redis_prefix=f"{redis_prefix}{name}:",
            slack_signing_secret="test-signing-secret",
            slack_bot_token="xoxb-test-token-123",
        )
        runtime = await rt.start(settings, load_config(path), migrate=False, configure_logging=False)
        await runtime.deps.db.migrate()
        yield HarmlessStack(runtime, target_db_url, bot_db, redis, backups, repo, commit)
    finally:
        if runtime is not None:
            await runtime.close()
        redis.stop()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
