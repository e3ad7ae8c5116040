"""The compose backend of the stack seam: containers found the way docker-compose finds them,
by project and service labels, on one engine (`stack.docker.mode: compose`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn, cast

from bot.targets.engine import MAX_PENDING_LINE, EngineClient, whole_lines
from bot.targets.stack import ContainerInfo, ExecResult, ServiceState, Verb
from bot.targets.stack import parse_time as _parse_time
from bot.text.durations import format_duration
from bot.text.errors import TargetError
from bot.text.messages import Msg

__all__ = ["MAX_PENDING_LINE", "PROJECT_LABEL", "SERVICE_LABEL", "ContainerInfo", "DockerTarget", "ExecResult"]

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class DockerTarget(EngineClient):
    """Per-container: `act` restarts, stops or starts one container, as docker-compose does."""

    @property
    def kind(self) -> Literal["compose"]:
        return "compose"

    async def containers(self, service: str | None = None) -> list[ContainerInfo]:
        """Containers of the compose project (all states), newest first."""
        labels = [f"{PROJECT_LABEL}={self.project}"]
        if service:
            labels.append(f"{SERVICE_LABEL}={service}")
        filters = json.dumps({"label": labels})
        found = await self._call("list containers", self._docker().containers.list(all=True, filters=filters))
        infos = await asyncio.gather(*(self._call("inspect container", c.show()) for c in found))
        result = [self._info(raw) for raw in infos]
        return sorted(result, key=lambda c: (c.service, not c.running, c.name))

    @staticmethod
    def _info(raw: dict[str, Any]) -> ContainerInfo:
        state = raw.get("State") or {}
        labels = (raw.get("Config") or {}).get("Labels") or {}
        health = (state.get("Health") or {}).get("Status")
        status = state.get("Status", "unknown")
        started = _parse_time(state.get("StartedAt"))
        if status == "running" and started:
            detail = f"up {_ago(started)}"
        elif status == "exited":
            detail = f"exited ({state.get('ExitCode')})"
        else:
            detail = status
        return ContainerInfo(
            id=raw["Id"],
            name=str(raw.get("Name", "")).lstrip("/"),
            service=labels.get(SERVICE_LABEL, "?"),
            state=status,
            status=detail,
            image=(raw.get("Config") or {}).get("Image", ""),
            started_at=started,
            health=health,
            exit_code=state.get("ExitCode") if status != "running" and isinstance(state.get("ExitCode"), int) else None,
            oom_killed=bool(state.get("OOMKilled")),
            finished_at=_parse_time(state.get("FinishedAt")),
        )

    async def container_of(self, service: str) -> ContainerInfo:
        """The service's container (a running one first); TargetError when there is none."""
        found = await self.containers(service)
        if not found:
            raise TargetError(service, Msg.of("docker.no_container", service=service, project=self.project))
        return found[0]

    async def logs(
        self, service: str, tail: int, since: timedelta | None = None, timestamps: bool = False
    ) -> tuple[ContainerInfo, list[str]]:
        """The last `tail` lines; with `timestamps`, each starts with the engine's RFC 3339 time."""
        info = await self.container_of(service)
        params: dict[str, Any] = {"tail": str(tail)}
        if since is not None:
            params["since"] = int((datetime.now(UTC) - since).timestamp())
        if timestamps:
            params["timestamps"] = True
        container = self._docker().containers.container(info.id)
        chunks = await self._call(
            f"logs of {service}", container.log(stdout=True, stderr=True, timeout=self.timeout, **params)
        )
        text = "".join(chunks)
        return info, text.splitlines()

    async def follow_logs(self, service: str, since: datetime | None = None) -> AsyncGenerator[str, None]:
        """Lines the service's container writes from now on (or from `since`: a live tail going on
        into a restarted container misses none of its first lines), as they come.

        Finding the container is bounded by the engine timeout; the stream is not, because it
        lasts as long as the caller wants: the caller bounds it in time and closes the iterator
        (`contextlib.aclosing`), which closes the connection. It ends by itself when the
        container stops. The engine's chunks are reassembled into whole lines (a line longer
        than MAX_PENDING_LINE comes in pieces).
        """
        info = await self.container_of(service)
        container = self._docker().containers.container(info.id)
        # aiodocker declares an AsyncIterator; it is an async generator, which must be closed.
        start: dict[str, Any] = {"tail": "0"} if since is None else {"since": f"{since.timestamp():.6f}"}
        stream = cast(AsyncGenerator[str, None], container.log(stdout=True, stderr=True, follow=True, **start))
        async with contextlib.aclosing(whole_lines(service, stream)) as lines:
            async for line in lines:
                yield line

    async def inspect(self, info: ContainerInfo) -> ContainerInfo:
        """The container's state as the engine has it now (a verification reads it again)."""
        raw = await self._call("inspect container", self._docker().containers.container(info.id).show())
        return self._info(raw)

    async def act(self, info: ContainerInfo, verb: Verb) -> ContainerInfo:
        """restart | stop | start one container, then read its state back (never assume it worked)."""
        grace = max(0, int(self.config.stop_timeout.total_seconds()))
        container = self._docker().containers.container(info.id)
        calls = {
            "restart": lambda: container.restart(t=grace),
            "stop": lambda: container.stop(t=grace),
            "start": lambda: container.start(),
        }
        await self._call(f"{verb} {info.service}", calls[verb](), timeout=grace + self.timeout + 5)
        raw = await self._call("inspect container", container.show())
        return self._info(raw)

    async def exec(
        self,
        service: str,
        argv: Sequence[str],
        on_output: Callable[[bytes], Awaitable[None]],
        timeout: float,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run `argv` (a list: no shell) in the service's running container, streaming its output.

        stdout and stderr arrive interleaved through `on_output`. On timeout the stream is
        closed and `timed_out` is set: the engine has no call to kill an exec, so the
        process may keep running inside the container, and the caller must say so.
        """
        info = await self.container_of(service)
        if not info.running:
            raise TargetError(service, f"container {info.name} is not running ({info.status})")
        return await self._exec_in(service, info.id, info.name, argv, on_output, timeout, workdir)

    async def service(self, service: str) -> ServiceState:
        self._swarm_only()

    async def roll(self, service: str) -> ServiceState:
        self._swarm_only()

    async def set_replicas(self, service: str, replicas: int, *, remember: bool = False) -> ServiceState:
        self._swarm_only()

    @staticmethod
    def _swarm_only() -> NoReturn:
        """Compose has no service object to update or scale: `/ops scale` says so before this."""
        raise TargetError("docker", Msg.of("swarm.compose_refused"))


def _ago(moment: datetime) -> str:
    return format_duration(datetime.now(UTC) - moment)
