"""Runbook procedures as steps: programs run in a container or on the bot's host, shown as
ONE message edited in place, stopped at the first failure with what to do next.

    procedure = Procedure(ctx, title, [configured_step(ctx, "build", ...), health_step, ...],
                          filename="rollback-abc1234.txt")
    await procedure.run()
    return procedure.result()

No shell, ever. A step's `run` line from ops.yml is split into words with shlex once; an
argument (a migration name) then replaces its `{name}` placeholder inside the word it
sits in, after the split, so `x; rm -rf /` stays one harmless argument and a value can
never add words or start an option. Programs get a small environment (PATH, HOME, locale),
not the bot's: Slack tokens and database URLs stay out of `make deploy`.

Everything a step prints goes through the redactor line by line before it is shown or
attached, so a step that echoes the stack's DSN shows `••••` where the password was.
Slack accepts about one edit a second per message, so the message is refreshed at most
once per `interval`, whatever the steps do, from a task of its own so that a slow Slack
never slows a step down.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import re
import shlex
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.output.results import Attachment, Block, Code, Result, Text, redact_result
from bot.storage.database import short_error
from bot.text.errors import BotError
from bot.text.locale import format_number

if TYPE_CHECKING:
    from bot.core.context import OpContext

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 1.0
# Sources whose adapter cannot edit a message in place (none today: the Slack adapter edits the
# first progress message of a typed command, and the clicked message of a button).
NO_LIVE_SOURCES: frozenset[str] = frozenset()
DEFAULT_STEP_TIMEOUT = 600.0
KILL_GRACE = 5.0
TAIL_LINES = 12
TAIL_LINE_CHARS = 300
KEEP_HEAD_BYTES = 2 * 1024 * 1024
KEEP_TAIL_BYTES = 1024 * 1024
PARTIAL_LINE_BYTES = 64 * 1024
READ_CHUNK = 64 * 1024
HOST_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR", "DOCKER_HOST", "SSH_AUTH_SOCK")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

StepState = Literal["waiting", "running", "done", "failed", "skipped"]
STATE_ICON: dict[StepState, str] = {"waiting": "⏸", "running": "⏳", "done": "✅", "failed": "❌", "skipped": "⏭"}


class StepFailed(BotError):
    """A step did not succeed; `key` and `fields` say why in the catalog's words."""

    key = "steps.failed"


# ---- commands ----------------------------------------------------------------------------


def command_words(run: str, values: Mapping[str, str] | None = None) -> list[str]:
    """The argv of a `run` line: shlex words, then `{name}` replaced inside each word.

    Raises StepFailed for a line that does not split, an unknown placeholder, or a value
    that is empty or starts with `-` (it would become an option of the program).
    """
    values = values or {}
    try:
        words = shlex.split(run)
    except ValueError as exc:
        raise StepFailed("steps.bad_command", command=run, detail=str(exc)) from None
    if not words:
        raise StepFailed("steps.bad_command", command=run, detail="empty")
    for name, value in values.items():
        if not value or value.startswith("-") or "\x00" in value:
            raise StepFailed("steps.bad_value", name=name)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise StepFailed("steps.unknown_placeholder", name=name, command=run)
        return values[name]

    return [_PLACEHOLDER.sub(fill, word) for word in words]


def host_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a host program: the basics, never the bot's secrets."""
    env = {key: os.environ[key] for key in HOST_ENV_KEYS if key in os.environ}
    env.setdefault("PATH", DEFAULT_PATH)
    if extra:
        env.update(extra)
    return env


# ---- output --------------------------------------------------------------------------------


class StepOutput:
    """A step's output as redacted lines: the tail for the message, the whole (bounded) for the file.

    Bytes are decoded incrementally and split into lines before redaction, so a secret is
    never cut in two by a read boundary. Output past `KEEP_HEAD_BYTES` keeps only its last
    `KEEP_TAIL_BYTES`; the file says how many lines were left out.
    """

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self.head: list[str] = []
        self._head_bytes = 0
        self._tail: deque[str] = deque()
        self._tail_bytes = 0
        self.omitted = 0
        self.status = ""

    def feed(self, data: bytes) -> None:
        text = self._partial + self._decoder.decode(data)
        *lines, self._partial = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for line in lines:
            self._keep(line)
        if len(self._partial) > PARTIAL_LINE_BYTES:
            cut = self._partial.rfind(" ", 0, PARTIAL_LINE_BYTES)
            cut = cut if cut > 0 else PARTIAL_LINE_BYTES
            self._keep(self._partial[:cut])
            self._partial = self._partial[cut:]

    def line(self, text: str) -> None:
        """Add whole lines written by the bot itself (a check's verdict, a file's size)."""
        for line in text.splitlines() or [""]:
            self._keep(line)

    def close(self) -> None:
        rest = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if rest:
            self._keep(rest)

    def _keep(self, line: str) -> None:
        line = self._redact(line)
        size = len(line) + 1
        if self._head_bytes + size <= KEEP_HEAD_BYTES and not self._tail:
            self.head.append(line)
            self._head_bytes += size
            return
        self._tail.append(line)
        self._tail_bytes += size
        while self._tail_bytes > KEEP_TAIL_BYTES and self._tail:
            self._tail_bytes -= len(self._tail.popleft()) + 1
            self.omitted += 1

    @property
    def empty(self) -> bool:
        return not self.head and not self._tail and not self._partial

    def tail(self, count: int = TAIL_LINES) -> list[str]:
        """The last complete lines; a line still being written is left out (it may end in half a secret)."""
        lines = [*self.head[-count:], *self._tail][-count:]
        return [line[:TAIL_LINE_CHARS] for line in lines]

    def text(self, omitted_note: Callable[[int], str]) -> str:
        parts = list(self.head)
        if self.omitted:
            parts.append(omitted_note(self.omitted))
        parts.extend(self._tail)
        return "\n".join(parts)


# ---- running programs ----------------------------------------------------------------------


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """TERM the program and everything it started (its own session), then KILL what lingers."""
    if proc.returncode is not None:
        return
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), wait)
            return
        except TimeoutError:
            continue


async def spawn(
    argv: Sequence[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    stdout: int | None = asyncio.subprocess.PIPE,
    stderr: int | None = asyncio.subprocess.STDOUT,
) -> asyncio.subprocess.Process:
    """Start a program without a shell, in a session of its own so that a timeout can end all of it."""
    if cwd is not None and not await asyncio.to_thread(os.path.isdir, cwd):
        raise StepFailed("steps.no_cwd", cwd=cwd)
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env) if env is not None else host_env(),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise StepFailed("steps.not_found", program=argv[0]) from None
    except PermissionError:
        raise StepFailed("steps.not_executable", program=argv[0]) from None


async def run_host(
    argv: Sequence[str],
    output: StepOutput,
    *,
    cwd: str | None,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run a program on the bot's host, streaming its output; StepFailed on a non-zero exit or timeout."""
    proc = await spawn(argv, cwd=cwd, env=env)
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(timeout):
            while chunk := await proc.stdout.read(READ_CHUNK):
                output.feed(chunk)
            code = await proc.wait()
    except TimeoutError:
        await kill_group(proc)
        raise StepFailed("steps.timeout", seconds=f"{timeout:g}") from None
    except BaseException:
        await kill_group(proc)
        raise
    if code != 0:
        raise StepFailed("steps.exit", code=code)


async def capture(
    argv: Sequence[str], *, cwd: str | None, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run a short program (git log, rev-parse) to its end: (exit code, stdout, stderr), killed at `timeout`."""
    proc = await spawn(argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        await kill_group(proc)
        raise StepFailed("steps.timeout", seconds=f"{timeout:g}") from None
    except BaseException:
        await kill_group(proc)
        raise
    code = proc.returncode if proc.returncode is not None else -1
    return code, out.decode(errors="replace"), err.decode(errors="replace")


async def run_in_container(
    ctx: OpContext, service: str, argv: Sequence[str], output: StepOutput, *, timeout: float
) -> None:
    """Run a program in the service's container (docker exec), streaming its output."""
    docker = ctx.deps.docker
    if docker is None:
        raise BotError("error.not_configured", key="stack.docker")

    async def feed(data: bytes) -> None:
        output.feed(data)

    outcome = await docker.exec(service, argv, feed, timeout)
    if outcome.timed_out:
        raise StepFailed("steps.timeout_container", seconds=f"{timeout:g}", container=outcome.container)
    if outcome.exit_code != 0:
        raise StepFailed("steps.exit", code=outcome.exit_code if outcome.exit_code is not None else "?")


# ---- steps and procedures -------------------------------------------------------------------

StepAction = Callable[[StepOutput], Awaitable[str | None]]


@dataclass
class Step:
    """One line of a procedure: what it does, how, and what to do if it fails.

    `action` raises (StepFailed, any BotError, a timeout) to fail; what it returns is a
    short note shown next to "done" (e.g. "12.3 MB").
    """

    label: str
    action: StepAction
    hint: str = ""
    state: StepState = "waiting"
    started: float | None = None
    ended: float | None = None
    note: str = ""
    detail: str = ""
    output: StepOutput | None = None


def configured_step(ctx: OpContext, key: str, hint: str = "", values: Mapping[str, str] | None = None) -> Step:
    """The step `stack.steps.<key>` of ops.yml, with its `{name}` arguments filled in.

    Raises BotError when the step is not configured, StepFailed when its line is unusable:
    both before anything runs, so a preview can show the exact words.
    """
    config = ctx.config.stack.steps.get(key)
    if config is None:
        raise BotError("error.not_configured", key=f"stack.steps.{key}")
    argv = command_words(config.run, values)
    timeout = config.timeout.total_seconds() if config.timeout else DEFAULT_STEP_TIMEOUT
    command = shlex.join(argv)
    if config.service is not None:
        service = config.service
        label = ctx.t("steps.label.container", name=key, command=command, service=service)

        async def in_container(output: StepOutput) -> str | None:
            await run_in_container(ctx, service, argv, output, timeout=timeout)
            return None

        return Step(label=label, action=in_container, hint=hint)
    cwd = config.cwd
    label = ctx.t("steps.label.host", name=key, command=command, cwd=cwd)

    async def on_host(output: StepOutput) -> str | None:
        await run_host(argv, output, cwd=cwd, timeout=timeout)
        return None

    return Step(label=label, action=on_host, hint=hint)


def _elapsed(seconds: float, locale: str = "en") -> str:
    """`2.5s` / `2,5s` under a minute (the reader's decimal mark), then whole minutes and seconds."""
    if seconds < 60:
        return f"{format_number(seconds, locale, 1)}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {secs}s"


class Procedure:
    """Steps run in order, shown as one message that is edited in place (ctx.update).

    The message lists every step with its state (waiting, running for how long, done,
    failed, not run), the last lines of the running or failed step's output, and a
    summary. `result()` is the final message, with the whole output attached as a file.
    `live=False` (the default for a typed Slack command) skips the updates.
    """

    def __init__(
        self,
        ctx: OpContext,
        title: str,
        steps: Sequence[Step],
        *,
        filename: str,
        interval: float = UPDATE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        live: bool | None = None,
    ) -> None:
        self.ctx = ctx
        self.live = ctx.source not in NO_LIVE_SOURCES if live is None else live
        self.title = title
        self.steps = list(steps)
        self.filename = filename
        self.interval = interval
        self.clock = clock
        self.started: float | None = None
        self.ended: float | None = None
        self.updates = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_push = float("-inf")

    @property
    def ok(self) -> bool:
        return all(step.state == "done" for step in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if step.state == "failed"), None)

    async def run(self) -> bool:
        """Run every step until one fails; True when all are done."""
        t = self.ctx.t
        redact = self.ctx.deps.redact
        self.started = self.clock()
        ticker = asyncio.create_task(self._tick() if self.live else asyncio.sleep(0))
        try:
            for index, step in enumerate(self.steps):
                step.output = StepOutput(redact)
                step.state = "running"
                step.started = self.clock()
                self._wake.set()
                try:
                    step.note = redact(await step.action(step.output) or "")
                    step.state = "done"
                except BotError as exc:
                    step.state = "failed"
                    step.detail = redact(t(exc.key, **exc.fields))
                except TimeoutError:
                    step.state = "failed"
                    step.detail = t("steps.timeout", seconds="?")
                except Exception as exc:
                    log.exception("step %r of %r failed (request %s)", step.label, self.title, self.ctx.request_id)
                    step.state = "failed"
                    step.detail = redact(t("steps.crashed", error=short_error(exc)))
                finally:
                    step.output.close()
                    step.ended = self.clock()
                if step.state == "failed":
                    for later in self.steps[index + 1 :]:
                        later.state = "skipped"
                    break
        finally:
            self.ended = self.clock()
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(ticker, self.interval + 5)
            except (TimeoutError, asyncio.CancelledError):
                ticker.cancel()
        return self.ok

    async def _tick(self) -> None:
        """Refresh the message on each change and every `interval` while running, never faster."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if self._stopping:
                return
            wait = self._last_push + self.interval - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
                if self._stopping:
                    return
            self._last_push = self.clock()
            self.updates += 1
            try:
                await self.ctx.update(self.snapshot())
            except Exception as exc:  # the message is a view: a failed edit never stops a step
                log.warning("progress update of %r failed: %s", self.title, self.ctx.deps.redact(short_error(exc)))

    # ---- rendering ---------------------------------------------------------------------------

    def _line(self, number: int, step: Step) -> str:
        t = self.ctx.t
        now = self.clock()
        elapsed = _elapsed((step.ended or now) - step.started, t.locale) if step.started is not None else ""
        key = f"steps.state.{step.state}"
        extra = ""
        if step.state == "running" and step.output is not None and step.output.status:
            extra = f" · {step.output.status}"
        if step.state == "done" and step.note:
            extra = f" · {step.note}"
        return (
            f"{STATE_ICON[step.state]} "
            + t(key, n=number, label=step.label, elapsed=elapsed, detail=step.detail)
            + extra
        )

    def _tail_block(self) -> list[Block]:
        shown = self.failed_step or next((s for s in self.steps if s.state == "running"), None)
        if shown is None or shown.output is None or shown.output.empty:
            return []
        number = self.steps.index(shown) + 1
        return [
            Text(self.ctx.t("steps.tail", n=number)),
            Code("\n".join(shown.output.tail())),
        ]

    def _lines(self) -> Text:
        return Text("\n".join(self._line(n, step) for n, step in enumerate(self.steps, 1)))

    def snapshot(self) -> Result:
        """The message while the procedure runs."""
        t = self.ctx.t
        running = next((n for n, s in enumerate(self.steps, 1) if s.state == "running"), None)
        elapsed = _elapsed(self.clock() - (self.started or self.clock()), t.locale)
        summary = (
            t("steps.summary.running", n=running, total=len(self.steps), elapsed=elapsed)
            if running
            else t("steps.summary.starting", total=len(self.steps))
        )
        snapshot = Result(
            title=self.title,
            blocks=[self._lines(), *self._tail_block(), Text(summary)],
            replace_original=True,
            summary=summary,
        )
        return redact_result(snapshot, self.ctx.deps.redact)

    def summary(self) -> str:
        t = self.ctx.t
        total = len(self.steps)
        elapsed = _elapsed((self.ended or self.clock()) - (self.started or self.clock()), t.locale)
        failed = self.failed_step
        if failed is None:
            return t("steps.summary.done", total=total, elapsed=elapsed)
        number = self.steps.index(failed) + 1
        text = t("steps.summary.failed", n=number, total=total, label=failed.label, detail=failed.detail)
        if failed.hint:
            text += "\n" + t("steps.next", hint=failed.hint)
        return text

    def output_file(self) -> bytes:
        t = self.ctx.t
        parts: list[str] = []
        for number, step in enumerate(self.steps, 1):
            if step.output is None:
                continue
            parts.append(f"=== {self._line(number, step)} ===")
            parts.append(step.output.text(lambda count: t("steps.omitted", count=count)))
        return self.ctx.deps.redact("\n".join(parts) + "\n").encode()

    def result(self, *extra: Block) -> Result:
        """The final message: the steps, the failed step's last lines, the summary, the full output as a file."""
        summary = self.summary()
        blocks: list[Block] = [self._lines()]
        if self.failed_step is not None:
            blocks.extend(self._tail_block())
        blocks.append(Text(summary))
        blocks.extend(extra)
        if any(step.output is not None and not step.output.empty for step in self.steps):
            blocks.append(Attachment(self.filename, self.output_file(), self.title))
            blocks.append(Text(self.ctx.t("file.attached", name=self.filename)))
        result = Result(
            title=self.title, blocks=blocks, ok=self.ok, summary=summary.splitlines()[0], replace_original=True
        )
        return redact_result(result, self.ctx.deps.redact)
