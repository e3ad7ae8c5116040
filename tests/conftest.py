"""Real parts for every test: a Postgres database and a Redis key space of this run's own,
busybox containers with compose labels, and a helper to start the bot in-process."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
from private_dockerd import private_swarm  # noqa: F401  session fixtures: one private Swarm per run
from private_redis import PrivateRedis, start_private_redis
from swarm_stack import swarm_stack  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))

import handlers  # noqa: F401  registers every operation
from bot.app import runtime as rt
from bot.config.ops_yml import parse_config
from bot.config.settings import Settings

PG_HOST = os.environ.get("OPS_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
REDIS_URL = os.environ.get("OPS_TEST_REDIS", "redis://127.0.0.1:6379/0")
BUSYBOX = "opsbot/busybox:latest"
REPO = Path(__file__).resolve().parent.parent

API_SCRIPT = (
    'for n in $(seq 1 300); do echo "boot line $n"; done; '
    'i=0; while true; do i=$((i+1)); echo "$(date -u +%H:%M:%S) GET /orders/$i 200"; '
    'if [ $((i % 3)) -eq 0 ]; then echo "webhook received payment $i"; fi; '
    'echo "warn slow query $i" >&2; sleep 0.2; done'
)


@pytest.fixture(scope="session")
def run_id() -> str:
    return f"t{os.getpid()}{secrets.token_hex(3)}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def bot_db_url(run_id: str) -> Iterator[str]:
    """The bot's own database for this run; dropped at the end."""
    name = f"opsbot_{run_id}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@{PG_HOST}:5432/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_db_url(run_id: str) -> Iterator[str]:
    """A bot database of this test's own, for tests whose background workers claim every row."""
    name = f"opsbot_{run_id}_{secrets.token_hex(3)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@{PG_HOST}:5432/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def target_db_url(run_id: str) -> Iterator[str]:
    """The stack's database (the orders system's) for this run, with a tenants table."""
    name = f"pedidos_{run_id}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@{PG_HOST}:5432/{name}"

    async def seed() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(
                "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true)"
            )
            await conn.execute("INSERT INTO tenants VALUES ('abc123', 'Tienda ABC', true), ('zz9', 'Otra', true)")
        finally:
            await conn.close()

    asyncio.run(seed())
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_prefix(run_id: str) -> Iterator[str]:
    """Every Redis key a test writes starts with this; all are deleted at the end."""
    prefix = f"opsbot-test:{run_id}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.close()


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of the module's own (the stack's cache in the cache and tenant tests);
    a module that needs one per test defines its own."""
    server = start_private_redis()
    yield server
    server.stop()


@pytest.fixture
def stack_redis(private_redis: PrivateRedis) -> Iterator[redis.Redis]:
    """The private server, emptied before each test (it is ours alone)."""
    client = private_redis.client()
    client.flushall()
    yield client
    client.close()


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=check)


@pytest.fixture(scope="session")
def compose_project(run_id: str) -> Iterator[str]:
    """Real busybox containers labelled as docker-compose would label a `pedidos` stack."""
    if shutil.which("docker") is None or _docker("info", check=False).returncode != 0:
        pytest.fail("Docker engine not available: run scripts/setup.sh (it starts dockerd)")
    project = f"pedidos{run_id}"
    scripts = {
        "api": API_SCRIPT,
        "postgres": "echo postgres ready; sleep 3600",
        "redis": "echo redis ready; sleep 3600",
    }
    created = []
    try:
        for service, script in scripts.items():
            name = f"{project}-{service}-1"
            _docker(
                "run", "-d", "--network", "none", "--name", name,
                "--label", f"com.docker.compose.project={project}",
                "--label", f"com.docker.compose.service={service}",
                BUSYBOX, "sh", "-c", script,
            )  # fmt: skip
            created.append(name)
        yield project
    finally:
        if created:
            _docker("rm", "-f", *created, check=False)


def base_config(
    *,
    api_url: str = "http://127.0.0.1:9",
    health: dict[str, str] | None = None,
    timeout: str = "2s",
    project: str = "pedidos",
    target_db: str | None = None,
    target_redis: str | None = None,
    roles: dict[str, list[str]] | None = None,
    extra: str = "",
    locale: str = "en",
) -> str:
    """An ops.yml in the spec's format, pointed at this run's real targets."""
    health = health or {"api": "/health"}
    roles = roles or {"viewer": ["*"], "operator": ["U0OPER"], "admin": ["U0ADMIN", "U0ADMIN2"]}
    health_yaml = ", ".join(f"{k}: {v}" for k, v in health.items())
    stack_pg = f"  postgres:\n    dsn: {target_db}\n    tenants_table: tenants\n" if target_db else ""
    stack_redis = (
        f'  redis:\n    url: {target_redis}\n    tenant_key_pattern: "tenant:{{tenant}}:*"\n' if target_redis else ""
    )
    text = f"""\
slack:
  command: /ops
  incident_channel: C0INCIDENTS
  allowed_channels: []
locale: {locale}
timezone: America/Santiago
stack:
  api:
    base_url: {api_url}
    health: {{{health_yaml}}}
    timeout: {timeout}
{stack_pg}{stack_redis}  docker:
    url: unix:///var/run/docker.sock
    compose_project: {project}
    services: [api, postgres, redis]
    stop_timeout: 1s
roles:
  viewer: {roles.get("viewer", [])}
  operator: {roles.get("operator", [])}
  admin: {roles.get("admin", [])}
contacts:
  - {{role: tech_lead, name: Ana Rojas, slack: U0TECHLEAD, email: ana@example.com, hours: "09:00-18:00"}}
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, email: marta@example.com, on_call: true}}
  - {{role: cto, name: Jorge Díaz, slack: U0CTO, email: jorge@example.com}}
"""
    return text + textwrap.dedent(extra)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "ops.yml"
        path.write_text(text, encoding="utf-8")
        parse_config(text, str(path))  # fail early in the test, not in the bot
        return path

    return write


RuntimeFactory = Callable[..., Awaitable[rt.Runtime]]


@pytest.fixture
async def make_runtime(bot_db_url: str, write_config: Callable[[str], Path]) -> AsyncIterator[RuntimeFactory]:
    """Start the bot in-process on a given ops.yml text; closed after the test."""
    started: list[rt.Runtime] = []

    async def make(
        config_text: str, group_members: Any = None, migrate: bool = True, notifier: Any = None, **settings: Any
    ) -> rt.Runtime:
        path = write_config(config_text)
        values: dict[str, Any] = {
            "ops_config": str(path),
            "database_url": bot_db_url,
            "redis_url": REDIS_URL,
            "slack_signing_secret": "test-signing-secret",
            "slack_bot_token": "xoxb-test-token-123",
        }
        values.update(settings)
        s = Settings(**values)
        # migrate=True: the workers wait for the runtime's own migrations, as `ops-bot serve` does
        # (started at once they met a fresh database without tables and logged warnings); the
        # explicit migrate below waits for the same advisory lock, so the tables exist on return.
        runtime = await rt.start(
            s, rt.load_config(path), group_members, migrate=migrate, configure_logging=False, notifier=notifier
        )
        started.append(runtime)
        if migrate:
            await runtime.deps.db.migrate()
        return runtime

    yield make
    for runtime in started:
        await runtime.close()
