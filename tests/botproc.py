"""The real `ops-bot` as a subprocess, for end-to-end tests.

`BotLauncher` starts `python -m bot.cli <mode>` with an environment of its own (no
variable of the developer's shell leaks in), waits until it is ready, and stops every
process it started with SIGTERM, then SIGKILL, even when the test failed::

    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.serve(config_path, emu.api_url, bot_db_url)
        status, body = await bot.get("/healthz")
        assert "Traceback" not in bot.stderr()

`serve` binds port 0 on 127.0.0.1 and reads the port the OS chose from the bot's
"listening on HOST:PORT" line, so no two runs race for a port. stdout and stderr go to
files under the test's directory, so a test can grep the bot's logs at any moment and a
chatty bot can never block on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from slack_emulator import RESPONSE_URL, Call, SlackEmulator

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("OPS_TEST_REDIS", "redis://127.0.0.1:6379/0")

#: Secrets handed to the bot; tests assert none of them ever leaves it.
BOT_TOKEN = "xoxb-1111-2222-e2eBotTokenSecret"
SIGNING_SECRET = "e2e-signing-secret-5b7f0c"
APP_TOKEN = "xapp-1-A0APP-3333-e2eAppTokenSecret"

READY_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0

#: Variables that configure ops-bot; never inherited from the environment running the tests.
_BOT_VARIABLES = (
    "OPS_CONFIG",
    "DATABASE_URL",
    "REDIS_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "LOG_LEVEL",
    "OPS_SHELL_USER",
    "REDIS_PREFIX",
)
_LISTENING = re.compile(r"listening on (\S+):(\d+)")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if pytest dies without tearing down (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def bot_env(
    config_path: Path | str,
    api_url: str,
    database_url: str,
    *,
    redis_url: str = REDIS_URL,
    app_token: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of running.md for one bot process."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in _BOT_VARIABLES}
    env.update(
        {
            "OPS_CONFIG": str(config_path),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SLACK_API_URL": api_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    if app_token is not None:
        env["SLACK_APP_TOKEN"] = app_token
    env.update(extra or {})
    return env


class BotNotReady(AssertionError):
    """The bot exited or did not become ready in time; the message carries its output."""


@dataclass
class BotProcess:
    """One running `ops-bot`; `url` is set for `serve` and `socket` (their HTTP side)."""

    mode: str
    proc: asyncio.subprocess.Process
    stdout_path: Path
    stderr_path: Path
    url: str | None = None
    returncode: int | None = None
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        """Both streams, for assertion messages."""
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def wait_for_output(
        self, pattern: str | re.Pattern[str], timeout: float, stream: str = "stdout"
    ) -> re.Match[str]:
        """Wait until `pattern` appears in stdout (or stderr); BotNotReady if the bot exits first."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        read = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(read())
            if match:
                return match
            if not self.alive:
                raise BotNotReady(f"ops-bot {self.mode} exited with {self.proc.returncode}\n{self.output()}")
            if time.monotonic() > deadline:
                raise BotNotReady(f"ops-bot {self.mode}: no {regex.pattern!r} within {timeout}s\n{self.output()}")
            await asyncio.sleep(0.02)

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def request(
        self, method: str, path: str, data: str | bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, float]:
        """(status, body, seconds taken) of one request to the bot's HTTP server."""
        assert self.url, f"ops-bot {self.mode} has no HTTP server"
        session = await self._http()
        started = time.perf_counter()
        async with session.request(method, self.url + path, data=data, headers=dict(headers or {})) as response:
            body = await response.text()
            return response.status, body, time.perf_counter() - started

    async def get(self, path: str) -> tuple[int, str]:
        status, body, _ = await self.request("GET", path)
        return status, body

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self._session is not None:
            await self._session.close()
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        self.returncode = self.proc.returncode
        assert self.returncode is not None
        return self.returncode


@dataclass(frozen=True)
class Completed:
    """A finished one-shot `ops-bot` run (shell, check-config)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


_MIGRATED: set[str] = set()


async def migrate_once(env: Mapping[str, str], cwd: Path) -> None:
    """`ops-bot migrate`, once per bot database and test session, as a deployment runs it before `serve`.

    Without it the first bot of a session would race its own background migration.
    """
    url = env["DATABASE_URL"]
    if url in _MIGRATED:
        return
    done = await run_bot(["migrate"], env, cwd=cwd)
    if done.returncode != 0:
        raise BotNotReady(f"ops-bot migrate exited with {done.returncode}\n{done.stdout}\n{done.stderr}")
    _MIGRATED.add(url)


class BotLauncher:
    """Starts `ops-bot` processes for one test and stops all of them at the end.

    By default the bot database is migrated first (`migrate=False` starts on whatever is there).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[BotProcess] = []

    async def __aenter__(self) -> BotLauncher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_all()

    async def stop_all(self) -> None:
        for bot in reversed(self.started):
            await bot.stop()

    async def spawn(self, args: Sequence[str], env: Mapping[str, str]) -> BotProcess:
        """`python -m bot.cli ARGS` in the test's directory (so no stray .env file is read)."""
        n = len(self.started)
        mode = args[0]
        stdout_path = self.workdir / f"ops-bot-{mode}-{n}.stdout"
        stderr_path = self.workdir / f"ops-bot-{mode}-{n}.stderr"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err,
                env=dict(env), cwd=self.workdir, preexec_fn=_die_with_parent,
            )  # fmt: skip
        bot = BotProcess(mode, proc, stdout_path, stderr_path)
        self.started.append(bot)
        return bot

    async def serve(
        self,
        config_path: Path | str,
        api_url: str,
        database_url: str,
        *,
        ready_timeout: float = READY_TIMEOUT,
        extra_env: Mapping[str, str] | None = None,
        migrate: bool = True,
    ) -> BotProcess:
        """`ops-bot serve` on a free loopback port, ready once it prints its address and /healthz answers."""
        env = bot_env(config_path, api_url, database_url, extra=extra_env)
        if migrate:
            await migrate_once(env, self.workdir)
        bot = await self.spawn(["serve", "--host", "127.0.0.1", "--port", "0"], env)
        deadline = time.monotonic() + ready_timeout
        match = await bot.wait_for_output(_LISTENING, ready_timeout)
        bot.url = f"http://{match[1]}:{match[2]}"
        while True:
            try:
                status, _ = await bot.get("/healthz")
                if status == 200:
                    return bot
            except aiohttp.ClientError:
                pass
            if not bot.alive or time.monotonic() > deadline:
                raise BotNotReady(f"ops-bot serve: /healthz not answering at {bot.url}\n{bot.output()}")
            await asyncio.sleep(0.05)

    async def socket(
        self,
        config_path: Path | str,
        api_url: str,
        database_url: str,
        *,
        app_token: str = APP_TOKEN,
        ready_timeout: float = READY_TIMEOUT,
        extra_env: Mapping[str, str] | None = None,
        migrate: bool = True,
        connected: bool = True,
    ) -> BotProcess:
        """`ops-bot socket` with its HTTP side on a free loopback port (`url`), ready once it says it
        is connected (`connected=False`: once it listens, for tests of a Slack that refuses or is down)."""
        env = bot_env(config_path, api_url, database_url, app_token=app_token, extra=extra_env)
        if migrate:
            await migrate_once(env, self.workdir)
        bot = await self.spawn(["socket", "--host", "127.0.0.1", "--port", "0"], env)
        match = await bot.wait_for_output(_LISTENING, ready_timeout)
        bot.url = f"http://{match[1]}:{match[2]}"
        if connected:
            await bot.wait_for_output("connected in Socket Mode", ready_timeout)
        return bot


async def run_bot(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 20.0,
) -> Completed:
    """Run a one-shot `ops-bot` command to completion (killed after `timeout`)."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=dict(env), cwd=cwd, preexec_fn=_die_with_parent,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Completed(
        proc.returncode,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
        time.perf_counter() - started,
    )


# ---------------------------------------------------------------------- what Slack got


def response_id(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[1]


async def posted(emu: SlackEmulator, response_url: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
    """The POSTs the bot made to this one response_url (waits for `count` of them)."""
    wanted = response_id(response_url)
    return await emu.wait_for(
        RESPONSE_URL, count=count, timeout=timeout, predicate=lambda c: c.args.get("_response_id") == wanted
    )


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for key, v in value.items() for t in ([v] if key == "text" and isinstance(v, str) else _texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def shown(call: Call) -> str:
    """Everything a person would read in a posted message: the fallback text and every block's text."""
    return "\n".join([str(call.args.get("text") or ""), *_texts(call.args.get("blocks") or [])])


def code_lines(call: Call) -> list[str]:
    """The lines inside the message's ``` code sections, in order."""
    lines: list[str] = []
    for text in _texts(call.args.get("blocks") or []):
        if text.startswith("```") and text.endswith("```"):
            lines.extend(text[3:-3].splitlines())
    return lines
