"""The stack's services as the handlers see them, whatever runs them: the `StackServices` seam.

Two backends stand behind it, one module each, chosen by `stack.docker.mode` where Deps are
built (`bot/core/deps.py`):

- `bot/targets/docker.py` (`compose`): one engine, containers found by their compose labels;
  `restart`/`stop`/`start` act on each container (`act`).
- `bot/targets/swarm.py` (`swarm`): the services and tasks of a Swarm stack found by
  `com.docker.stack.namespace`; a restart is a rolling `service update --force`, a stop is a
  scale to 0 that remembers the replicas, `scale` sets them (`roll`, `set_replicas`).

A "container" here is one running unit of a service: a compose container, or a Swarm task
(with the node it was placed on). The handlers take the per-container path or the
per-service path by `kind`; everything else (ps, logs, live tails, exec for steps, health)
is the same call on either backend.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import aiodocker

from bot.config.ops_yml import DockerConfig
from bot.text.messages import Catalog

Verb = Literal["restart", "stop", "start"]
Kind = Literal["compose", "swarm"]


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    service: str
    state: str
    status: str
    image: str
    started_at: datetime | None
    health: str | None
    exit_code: int | None = None
    oom_killed: bool = False
    """Why a stopped container ended: read back by `stop`'s verification (137 = killed)."""
    node: str | None = None
    """Swarm: the node the task was placed on (compose: None, it is the one host)."""
    task: str | None = None
    """Swarm: the task's id (`id` is then its container's id, empty while it has none)."""
    finished_at: datetime | None = None
    """When its previous run ended (Docker keeps it across a restart): a live tail following the
    restarted container reads from then, so it misses no first line and repeats no old one."""
    spec_mark: int | None = None
    """Swarm: the service's `ForceUpdate` counter the task was created with: a rolling restart
    is done when every running task carries the new one."""

    @property
    def running(self) -> bool:
        return self.state == "running"

    def describe(self, t: Catalog) -> str:
        """`status` in the reader's language (`up 5m` / `activo desde hace 5min`); `status` itself
        stays English, as audit rows and logs keep it."""
        if self.running and self.started_at is not None:
            return t("container.up", took=max(datetime.now(UTC) - self.started_at, timedelta(0)))
        if self.state == "exited":
            return t("container.exited", code=self.exit_code if self.exit_code is not None else "?")
        key = f"container.state.{self.state}"
        said = t(key)
        return said if said != key else self.status


@dataclass(frozen=True)
class ExecResult:
    """How a command run in a container ended; `exit_code` is None when it timed out."""

    container: str
    exit_code: int | None
    timed_out: bool = False


@dataclass(frozen=True)
class ServiceState:
    """One Swarm service as its spec says: what a preview shows and a verification compares."""

    name: str
    """The stack's name for it (`api`), not the engine's (`orders_api`)."""
    replicas: int
    spec_mark: int
    """TaskTemplate.ForceUpdate: raised by one for each rolling restart."""
    remembered: int | None
    """Replicas a `stop` remembered (a service label) for `start`; None when not stopped by the bot."""
    update_state: str | None
    """UpdateStatus.State of the last rolling update: updating, completed, paused, rollback_*."""
    update_message: str | None
    has_health: bool
    """The task template has a health check: a restart is verified only once tasks are healthy."""


def parse_time(value: str | None) -> datetime | None:
    """The engine's RFC 3339 time (nanoseconds, `Z`) as an aware datetime; its zero time as None."""
    if not value or value.startswith("0001-"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    micro = (frac + "000000")[:6] if frac else "0"
    return datetime.fromisoformat(head).replace(microsecond=int(micro), tzinfo=UTC)


class StackServices(Protocol):
    """What a handler may do to the stack's services. Every call is bounded by a timeout and
    raises TargetError with a sentence for the user, never a client exception."""

    config: DockerConfig

    @property
    def kind(self) -> Kind: ...

    @property
    def project(self) -> str: ...

    async def containers(self, service: str | None = None) -> list[ContainerInfo]:
        """Every container (compose) or current task (swarm) of the stack or one service, with its
        state and placement; grouped by service, running ones first."""
        ...

    async def container_of(self, service: str) -> ContainerInfo:
        """One running container of the service (the one `exec` and `logs --grep` use)."""
        ...

    async def logs(
        self, service: str, tail: int, since: timedelta | None = None, timestamps: bool = False
    ) -> tuple[ContainerInfo, list[str]]: ...

    def follow_logs(self, service: str, since: datetime | None = None) -> AsyncGenerator[str, None]:
        """Lines the service writes from now on (or from `since`), until the caller closes the generator."""
        ...

    async def inspect(self, info: ContainerInfo) -> ContainerInfo:
        """The container or task as the engine has it now."""
        ...

    async def act(self, info: ContainerInfo, verb: Verb) -> ContainerInfo:
        """Compose: restart, stop or start one container, state read back. Swarm refuses (it acts per service)."""
        ...

    async def service(self, service: str) -> ServiceState:
        """Swarm: the service's spec now. Compose refuses (it has no service object)."""
        ...

    async def roll(self, service: str) -> ServiceState:
        """Swarm: a rolling restart (`service update --force`); returns the spec it asked for."""
        ...

    async def set_replicas(self, service: str, replicas: int, *, remember: bool = False) -> ServiceState:
        """Swarm: scale; `remember` keeps the current count in a label for a later `start`."""
        ...

    async def exec(
        self,
        service: str,
        argv: Sequence[str],
        on_output: Callable[[bytes], Awaitable[None]],
        timeout: float,
        workdir: str | None = None,
    ) -> ExecResult: ...

    def engine(self) -> aiodocker.Docker:
        """The engine client, for a scan of one container's whole log (bot/targets/log_scan.py)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
