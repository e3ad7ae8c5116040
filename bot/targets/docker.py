"""The stack's containers, found the way docker-compose finds them: by project and service labels.

Every call to the engine is bounded by a timeout, so a hung engine becomes a TargetError
with a clear sentence instead of a command that never answers.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiodocker
import aiohttp

from bot.config.ops_yml import DockerConfig
from bot.text.durations import format_duration
from bot.text.errors import TargetError
from bot.text.messages import Catalog, Msg

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
MAX_PENDING_LINE = 64 * 1024
"""Characters of an unfinished line a live tail holds before passing it on: a container that
prints without newlines cannot grow the buffer (or its re-joining) without bound."""


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


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    micro = (frac + "000000")[:6] if frac else "0"
    return datetime.fromisoformat(head).replace(microsecond=int(micro), tzinfo=UTC)


def _permission_denied(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from: aiodocker wraps aiohttp's connector error,
    which wraps the OSError) is the socket refusing this user."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, PermissionError) or getattr(seen, "errno", None) == errno.EACCES:
            return True
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
    return False


class DockerTarget:
    def __init__(self, config: DockerConfig, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        self._client: aiodocker.Docker | None = None

    @property
    def project(self) -> str:
        return self.config.compose_project

    def _docker(self) -> aiodocker.Docker:
        if self._client is None:
            self._client = aiodocker.Docker(url=self.config.url)
        return self._client

    async def _call(self, what: str, coro: Any, timeout: float | None = None) -> Any:
        limit = timeout or self.timeout
        try:
            return await asyncio.wait_for(coro, limit)
        except TimeoutError:
            raise TargetError("docker", Msg.of("docker.timeout", what=what, seconds=f"{limit:g}")) from None
        except aiodocker.DockerError as exc:
            if exc.status == 900:  # aiodocker's code for "could not connect"
                raise TargetError("docker", self._unreachable(exc, what, self.config.url)) from None
            raise TargetError("docker", f"{what}: {exc.message}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TargetError("docker", self._unreachable(exc, what, exc.__class__.__name__)) from None

    def _unreachable(self, exc: BaseException, what: str, detail: str) -> Msg:
        """ "Unreachable", unless the socket refused this user (EACCES): that has a fix to say."""
        if _permission_denied(exc):
            return Msg.of("docker.permission_denied", what=what, url=self.config.url, uid=str(os.getuid()))
        return Msg.of("docker.unreachable", what=what, detail=detail)

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

    async def follow_logs(self, service: str) -> AsyncGenerator[str, None]:
        """Lines the service's container writes from now on (stdout and stderr), as they come.

        Finding the container is bounded by the engine timeout; the stream is not, because it
        lasts as long as the caller wants: the caller bounds it in time and closes the iterator
        (`contextlib.aclosing`), which closes the connection. It ends by itself when the
        container stops. The engine's chunks are reassembled into whole lines (a line longer
        than MAX_PENDING_LINE comes in pieces).
        """
        info = await self.container_of(service)
        container = self._docker().containers.container(info.id)
        # aiodocker declares an AsyncIterator; it is an async generator, which must be closed.
        stream = cast(AsyncGenerator[str, None], container.log(stdout=True, stderr=True, follow=True, tail="0"))
        pending = ""
        try:
            async for chunk in stream:
                *lines, pending = (pending + chunk).split("\n")
                for line in lines:
                    yield line.rstrip("\r")
                while len(pending) > MAX_PENDING_LINE:  # a line without end: pass it on in pieces
                    yield pending[:MAX_PENDING_LINE]
                    pending = pending[MAX_PENDING_LINE:]
        except aiodocker.DockerError as exc:
            raise TargetError(service, f"logs of {service}: {exc.message}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TargetError("docker", self._unreachable(exc, f"logs of {service}", exc.__class__.__name__)) from None
        finally:
            await stream.aclose()
        if pending:
            yield pending

    async def inspect(self, info: ContainerInfo) -> ContainerInfo:
        """The container's state as the engine has it now (a verification reads it again)."""
        raw = await self._call("inspect container", self._docker().containers.container(info.id).show())
        return self._info(raw)

    async def act(self, info: ContainerInfo, verb: str) -> ContainerInfo:
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
        container = self._docker().containers.container(info.id)
        execution = await self._call(
            f"exec in {service}",
            container.exec(cmd=list(argv), stdout=True, stderr=True, tty=False, workdir=workdir),
        )
        try:
            async with asyncio.timeout(timeout):
                async with execution.start(detach=False) as stream:
                    while (message := await stream.read_out()) is not None:
                        await on_output(message.data)
        except TimeoutError:
            return ExecResult(info.name, None, timed_out=True)
        except aiodocker.DockerError as exc:
            raise TargetError(service, f"exec in {info.name}: {exc.message}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TargetError(service, f"exec in {info.name}: connection lost ({exc.__class__.__name__})") from None
        # The stream can end a moment before the engine records the exit code: ask again briefly.
        for _ in range(50):
            details = await self._call("inspect exec", execution.inspect())
            if not details.get("Running") and details.get("ExitCode") is not None:
                return ExecResult(info.name, int(details["ExitCode"]))
            await asyncio.sleep(0.02)
        return ExecResult(info.name, None)

    async def ping(self) -> None:
        await self._call("ping", self._docker().version())

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _ago(moment: datetime) -> str:
    return format_duration(datetime.now(UTC) - moment)
