"""Start-up shared by every mode: settings, ops.yml, logging with redaction, deps, migrations."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config.ops_yml import OpsConfig, load_config
from bot.config.settings import Settings
from bot.core.deps import Deps
from bot.core.dispatcher import Dispatcher
from bot.core.roles import GroupMembers
from bot.core.step_leases import every
from bot.incidents.notify import Notifier
from bot.text.redact import RedactingFilter, Redactor

if TYPE_CHECKING:
    from bot.jobs.scheduler import Scheduler

log = logging.getLogger(__name__)


def setup_logging(level: str, redactor: Redactor) -> None:
    """Log to stderr with every record redacted, whichever logger wrote it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = max(logging.WARNING, root.level)
    logging.getLogger("slack_bolt").setLevel(quiet)
    # slack_sdk tests its own logger's level, not the effective one: left at NOTSET, it formats
    # a debug line of every request's whole body (blocks included) and then drops it.
    for name in _SLACK_SDK_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


_SLACK_SDK_LOGGERS = (
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.base_client",
    "slack_sdk.webhook.async_client",
    "slack_sdk.webhook.client",
    "slack_sdk.socket_mode.aiohttp",
)


@dataclass
class Runtime:
    settings: Settings
    config: OpsConfig
    deps: Deps
    dispatcher: Dispatcher
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    scheduler: Scheduler | None = None
    notifier: Notifier | None = None

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def drain(self, grace: float | None = None) -> None:
        """Before closing on SIGTERM: running confirmed steps end (or are stopped past the grace)
        and their outcome is recorded and shown; the escalation worker drains if it can."""
        await self.deps.confirmations.drain(grace)
        drain_escalation = getattr(self.deps.escalation, "drain", None)
        if drain_escalation is not None:
            await drain_escalation()

    async def close(self) -> None:
        if self.deps.escalation is not None:  # in-flight pages finish and are recorded first
            await self.deps.escalation.drain()
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        close_notifier = getattr(self.notifier, "close", None)
        if close_notifier is not None:
            await close_notifier()
        await self.deps.close()


def load(settings: Settings | None = None) -> tuple[Settings, OpsConfig]:
    settings = settings or Settings()
    return settings, load_checked(settings.ops_config)


def load_checked(path: str | Path) -> OpsConfig:
    """ops.yml validated against the registered operations too: a `permissions` key that names
    no command is refused with its line, not silently ignored.

    bot/config/ops_yml.py does not import the handlers (they import it); this step runs after them.
    """
    import handlers  # noqa: F401  registers every operation
    from bot.core.registry import command_names

    return load_config(path, operations=command_names())


async def start(
    settings: Settings,
    config: OpsConfig,
    group_members: GroupMembers | None = None,
    migrate: bool = True,
    configure_logging: bool = True,
    notifier: Notifier | None = None,
) -> Runtime:
    """Build deps and the dispatcher; migrations run in the background until the database answers."""
    import handlers  # noqa: F401  registers every operation

    deps = Deps.create(settings, config, group_members)
    if configure_logging:
        setup_logging(settings.log_level, deps.redact)
    else:
        logging.getLogger().addFilter(RedactingFilter(deps.redact))
    dispatcher = Dispatcher(deps)
    runtime = Runtime(settings, config, deps, dispatcher, notifier=notifier)
    migrations = runtime.spawn(deps.db.keep_migrating()) if migrate else None
    from bot.app.memory import trim_periodically

    runtime.spawn(trim_periodically())  # RSS follows what is in use (bot/app/memory.py, the soak)

    # Steps whose replica died mid-way are reported interrupted and released, by any replica.
    runtime.spawn(every(deps.confirmations.leases.lease / 2, deps.confirmations.sweep))
    if notifier is not None:
        from bot.incidents.escalation import EscalationWorker
        from bot.incidents.notify import RedactingNotifier

        notifier = RedactingNotifier(notifier, deps.redact)
        deps.confirmations.notifier = notifier
        deps.escalation = EscalationWorker(deps, notifier)
        runtime.spawn(after_schema(migrations, deps.escalation.run))
        # Scheduled jobs (the daily backup) post their results the same way, one replica per slot.
        from bot.jobs.scheduler import Scheduler, notify_via

        runtime.scheduler = Scheduler(deps, notify=notify_via(notifier, deps))
        runtime.spawn(after_schema(migrations, runtime.scheduler.run))
        if config.oncall.rotas:  # rota hand-offs: user group, summary, reminders, gap warnings (one replica each)
            from bot.jobs.handoff import HandoffWatcher

            runtime.spawn(after_schema(migrations, HandoffWatcher(deps).run))
        if config.alerts is not None:  # alert groups' messages, brought up to date on any replica
            from bot.alerts.poster import AlertPoster

            runtime.spawn(after_schema(migrations, AlertPoster(deps, notifier, dispatcher.dispatch).run))
    return runtime


async def after_schema(migrations: asyncio.Task[None] | None, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run a worker that reads the bot's tables once the migrations have made them.

    Started with the bot, the workers met a new database before its tables existed and each
    logged `relation "escalation_steps" does not exist; retrying` at every start, a warning a
    tired person cannot tell from an outage. While the database is down they wait quietly:
    keep_migrating says that once per retry. `migrations` None (the caller migrates, or
    another replica did): at once. A failed migration still lets them start (and say why).
    """
    if migrations is not None:
        await asyncio.wait([migrations])  # not `await`: being cancelled must not cancel the migrations
    return await work()
