"""`ops-bot check-config --live`: what only the machine the bot runs on can tell about ops.yml.

A file can be right and still point at nothing here: `backups.dir: /backups` that does not exist,
`stack.repo` on another host, an API that is down or behind a firewall. These are warnings,
not mistakes (the target may be down only now, the folder made by the deploy): each target is
tried once, all at the same time, each within its own timeout, and nothing is changed (no
write, no POST: the ticket webhook is not called, it would open a ticket).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import aiodocker
import aiohttp
import asyncpg
import redis.asyncio as aioredis

from bot.config.lines import KeyPath
from bot.config.ops_yml import OpsConfig
from bot.storage.database import short_error
from bot.targets.net_errors import connect_failure, describe
from bot.text.messages import Catalog
from bot.text.redact import Redactor, secrets_of_url

LIVE_TIMEOUT = 5.0
"""Seconds each target gets to answer; they are tried together, so the whole check takes about this."""


@dataclass(frozen=True)
class LiveWarning:
    key: KeyPath
    message: str


def _missing_folder(path: str, what: str) -> str | None:
    folder = Path(path)
    if not folder.exists():
        return f"{path} does not exist on this machine ({what})"
    if not folder.is_dir():
        return f"{path} is not a folder ({what})"
    return None


def path_warnings(config: OpsConfig) -> list[LiveWarning]:
    """Folders ops.yml names: the backups folder (written to), the repository, each step's cwd."""
    found: list[LiveWarning] = []
    stack = config.stack
    if stack.backups is not None:
        problem = _missing_folder(stack.backups.dir, "backups are written and listed there")
        if problem is None and not os.access(stack.backups.dir, os.W_OK | os.X_OK):
            problem = f"{stack.backups.dir} is not writable by this user: `/ops db backup` would fail"
        if problem:
            found.append(LiveWarning(("stack", "backups", "dir"), problem))
    if stack.repo is not None:
        problem = _missing_folder(stack.repo, "deploy history and rollback run git there")
        if problem is None and not (Path(stack.repo) / ".git").exists():
            problem = f"{stack.repo} is not a git repository (no .git): deploy history would fail"
        if problem:
            found.append(LiveWarning(("stack", "repo"), problem))
    for name, step in stack.steps.items():
        if step.cwd is not None:
            problem = _missing_folder(step.cwd, f"step {name} runs there")
            if problem:
                found.append(LiveWarning(("stack", "steps", name, "cwd"), problem))
    return found


def _why(exc: BaseException) -> str:
    """A failed try in a few words; the connection's own reason when there is one."""
    failure = connect_failure(exc)
    if failure is not None:
        return Catalog("en").text(describe(failure))
    return short_error(exc)


async def _http(session: aiohttp.ClientSession, url: str) -> str | None:
    """GET once: any answer means the target is there; a 5xx is said, other codes are fine."""
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        if response.status >= 500:
            return f"answered HTTP {response.status}"
    return None


async def _postgres(dsn: str, table: str, timeout: float) -> str | None:
    conn = await asyncpg.connect(dsn, timeout=timeout)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", table) is None:
            return f"connected, but table {table} does not exist: tenant commands would fail"
    finally:
        await conn.close(timeout=timeout)
    return None


async def _redis(url: str, timeout: float) -> str | None:
    client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return None


async def _docker(url: str, project: str, swarm: bool) -> str | None:
    docker = aiodocker.Docker(url=url)
    try:
        await docker.version()
        if swarm:
            return None
        found = await docker.containers.list(all=True, filters={"label": [f"com.docker.compose.project={project}"]})
        if not found:
            return f"reachable, but no container of compose project {project!r} is on it"
    finally:
        await docker.close()
    return None


async def _tried(key: KeyPath, what: str, probe: Awaitable[str | None], timeout: float) -> LiveWarning | None:
    try:
        async with asyncio.timeout(timeout):
            problem = await probe
    except TimeoutError:
        return LiveWarning(key, f"{what}: no answer within {timeout:g} s")
    except Exception as exc:  # any failure of one target is that target's warning, never a traceback
        return LiveWarning(key, f"{what}: unreachable ({_why(exc)})")
    return LiveWarning(key, f"{what}: {problem}") if problem else None


async def live_warnings(config: OpsConfig, timeout: float = LIVE_TIMEOUT) -> list[LiveWarning]:
    """Every warning: the folders first, then each target tried once, together, in the file's sections' order."""
    stack = config.stack
    found = path_warnings(config)
    tries: list[Awaitable[LiveWarning | None]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        if stack.api is not None:
            url = stack.api.base_url.rstrip("/") + stack.api.health.get("api", "/health")
            tries.append(_tried(("stack", "api", "base_url"), "the API", _http(session, url), timeout))
        if stack.bull_board is not None:
            board = _http(session, stack.bull_board.base_url)
            tries.append(_tried(("stack", "bull_board", "base_url"), "Bull Board", board, timeout))
        if stack.postgres is not None:
            pg = _postgres(stack.postgres.dsn, stack.postgres.tenants_table, timeout)
            tries.append(_tried(("stack", "postgres", "dsn"), "Postgres", pg, timeout))
        if stack.redis is not None:
            tries.append(_tried(("stack", "redis", "url"), "Redis", _redis(stack.redis.url, timeout), timeout))
        if stack.docker is not None:
            docker = _docker(stack.docker.url, stack.docker.compose_project, stack.docker.mode == "swarm")
            tries.append(_tried(("stack", "docker", "url"), "Docker", docker, timeout))
        if stack.prometheus is not None:
            ready = _http(session, stack.prometheus.url.rstrip("/") + "/-/ready")
            tries.append(_tried(("stack", "prometheus", "url"), "Prometheus", ready, timeout))
        if stack.alertmanager is not None:
            ready = _http(session, stack.alertmanager.url.rstrip("/") + "/-/ready")
            tries.append(_tried(("stack", "alertmanager", "url"), "Alertmanager", ready, timeout))
        answers = await asyncio.gather(*tries)
    redact = redactor_of(config)
    return [LiveWarning(w.key, redact(w.message)) for w in [*found, *(a for a in answers if a is not None)]]


def redactor_of(config: OpsConfig) -> Redactor:
    """The passwords of the stack's URLs and the alerts token: a warning never shows them."""
    secrets: list[str] = [config.alerts.token] if config.alerts is not None else []
    stack = config.stack
    for url in (stack.postgres.dsn if stack.postgres else None, stack.redis.url if stack.redis else None):
        secrets.extend(secrets_of_url(url))
    return Redactor(secrets, locale=config.locale)
