"""One Docker Engine API client, shared by both backends of the stack seam (compose, swarm).

Every call to the engine is bounded by a timeout, so a hung engine becomes a TargetError
with a clear sentence instead of a command that never answers.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any

import aiodocker
import aiohttp

from bot.config.ops_yml import DockerConfig
from bot.targets.stack import ExecResult
from bot.text.errors import TargetError
from bot.text.messages import Msg

MAX_PENDING_LINE = 64 * 1024
"""Characters of an unfinished line a live tail holds before passing it on: a container that
prints without newlines cannot grow the buffer (or its re-joining) without bound."""


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


class EngineClient:
    """The aiodocker client (created on first use), its bounded calls, and exec in a container."""

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

    def engine(self) -> aiodocker.Docker:
        """The client itself, for a caller that reads one container's raw log stream (log_scan)."""
        return self._docker()

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
        """Say "unreachable", unless the socket refused this user (EACCES): that has a fix to say."""
        if _permission_denied(exc):
            return Msg.of("docker.permission_denied", what=what, url=self.config.url, uid=str(os.getuid()))
        return Msg.of("docker.unreachable", what=what, detail=detail)

    async def _exec_in(
        self,
        service: str,
        container_id: str,
        name: str,
        argv: Sequence[str],
        on_output: Callable[[bytes], Awaitable[None]],
        timeout: float,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run `argv` (a list: no shell) in one running container, streaming its output.

        stdout and stderr arrive interleaved through `on_output`. On timeout the stream is
        closed and `timed_out` is set: the engine has no call to kill an exec, so the
        process may keep running inside the container, and the caller must say so.
        """
        container = self._docker().containers.container(container_id)
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
            return ExecResult(name, None, timed_out=True)
        except aiodocker.DockerError as exc:
            raise TargetError(service, f"exec in {name}: {exc.message}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TargetError(service, f"exec in {name}: connection lost ({exc.__class__.__name__})") from None
        # The stream can end a moment before the engine records the exit code: ask again briefly.
        for _ in range(50):
            details = await self._call("inspect exec", execution.inspect())
            if not details.get("Running") and details.get("ExitCode") is not None:
                return ExecResult(name, int(details["ExitCode"]))
            await asyncio.sleep(0.02)
        return ExecResult(name, None)

    async def ping(self) -> None:
        await self._call("ping", self._docker().version())

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


async def whole_lines(service: str, stream: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
    """The engine's log chunks reassembled into whole lines (a line longer than MAX_PENDING_LINE
    comes in pieces); engine and connection errors become TargetError; the stream is closed."""
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
        what, detail = f"logs of {service}", exc.__class__.__name__
        raise TargetError("docker", Msg.of("docker.unreachable", what=what, detail=detail)) from None
    finally:
        await stream.aclose()
    if pending:
        yield pending
