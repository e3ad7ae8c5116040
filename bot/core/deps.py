"""Everything a handler may use, created once at start-up and handed down (no globals).

Connections are lazy: building Deps never waits on a target, so the bot starts and acks
even when its database, Redis or Docker are down.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import redis.asyncio as aioredis

from bot.config.ops_yml import DockerConfig, OpsConfig
from bot.config.settings import Settings
from bot.core.audit import AuditStore
from bot.core.confirmations import Confirmations
from bot.core.metrics import BotMetrics
from bot.core.registry import REGISTRY, Registry
from bot.core.roles import GroupMembers, RoleResolver
from bot.storage.database import BotDatabase, TargetDatabase
from bot.storage.incidents import IncidentStore
from bot.targets.docker import DockerTarget
from bot.targets.stack import StackServices
from bot.targets.swarm import SwarmTarget
from bot.text.redact import Redactor, secrets_of_url

REDIS_TIMEOUT = 2.0


def redis_client(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        health_check_interval=30,
        decode_responses=False,
    )


def build_redactor(settings: Settings, config: OpsConfig) -> Redactor:
    """Every secret the bot knows about: tokens, and passwords in its own and the stack's URLs."""
    secrets: list[str] = []
    for secret in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token):
        if secret is not None:
            secrets.append(secret.get_secret_value())
    if config.alerts is not None:
        secrets.append(config.alerts.token)
    urls = [settings.database_url.get_secret_value(), settings.redis_url.get_secret_value()]
    if config.stack.postgres:
        urls.append(config.stack.postgres.dsn)
    if config.stack.redis:
        urls.append(config.stack.redis.url)
    for url in urls:
        secrets.extend(secrets_of_url(url))
    return Redactor(secrets, locale=config.locale)


def open_stack(config: DockerConfig) -> StackServices:
    """The backend `stack.docker.mode` names: compose labels on one engine, or a Swarm stack."""
    if config.mode == "swarm":
        return SwarmTarget(config)
    return DockerTarget(config)


class Escalation(Protocol):
    """The escalation worker as Deps holds it (bot/incidents/escalation.py's EscalationWorker).

    A Protocol so that core never imports the incidents package, which imports core.
    """

    def wake(self) -> None: ...

    async def run(self) -> None: ...

    async def drain(self, grace: float = ...) -> bool: ...


@dataclass
class Deps:
    settings: Settings
    config: OpsConfig
    redact: Redactor
    db: BotDatabase
    audit: AuditStore
    redis: aioredis.Redis
    http: aiohttp.ClientSession
    docker: StackServices | None
    target_db: TargetDatabase | None
    target_redis: aioredis.Redis | None
    roles: RoleResolver
    registry: Registry = field(default_factory=lambda: REGISTRY)
    metrics: BotMetrics = field(default_factory=BotMetrics)
    confirmations: Confirmations = field(init=False)
    incidents: IncidentStore = field(init=False)
    escalation: Escalation | None = None

    def __post_init__(self) -> None:
        self.confirmations = Confirmations(self)
        self.incidents = IncidentStore(self.db, self.config)

    @classmethod
    def create(
        cls,
        settings: Settings,
        config: OpsConfig,
        group_members: GroupMembers | None = None,
        registry: Registry | None = None,
        metrics: BotMetrics | None = None,
    ) -> Deps:
        redact = build_redactor(settings, config)
        db = BotDatabase(settings.database_url.get_secret_value())
        stack = config.stack
        return cls(
            settings=settings,
            config=config,
            redact=redact,
            db=db,
            audit=AuditStore(db, redact),
            redis=redis_client(settings.redis_url.get_secret_value()),
            http=aiohttp.ClientSession(),
            docker=open_stack(stack.docker) if stack.docker else None,
            target_db=TargetDatabase(stack.postgres.dsn) if stack.postgres else None,
            target_redis=redis_client(stack.redis.url) if stack.redis else None,
            roles=RoleResolver(config, group_members),
            registry=registry or REGISTRY,
            metrics=metrics or BotMetrics(),
        )

    async def close(self) -> None:
        closers = [self.db.close(), self.http.close(), self.redis.aclose()]
        if self.docker:
            closers.append(self.docker.close())
        if self.target_db:
            closers.append(self.target_db.close())
        if self.target_redis:
            closers.append(self.target_redis.aclose())
        with contextlib.suppress(Exception):
            await asyncio.gather(*closers, return_exceptions=True)
