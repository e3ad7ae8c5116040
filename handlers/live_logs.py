"""Runbook "Ver logs en tiempo real" (`make logs`, `docker-compose logs -f api`) as a live tail.

`/ops logs api --follow [2m]` opens a thread (`ctx.thread`, bot/core/threads.py) and writes the
lines the container prints into it, batched so the thread gets at most one message per
FLUSH_INTERVAL (Slack's pace per channel), for at most the given time (MAX_FOLLOW), and
ends with the whole capture attached as a file. A message holds the newest lines of its
batch; none is ever lost, since the file has them all. A Slack hiccup does not end the
tail: SlackThread retries 5xx and dropped connections; a reply still refused is counted
(its lines are in the file) and only MAX_FAILED_IN_A_ROW in a row end it. The file is
uploaded however the tail ended; if Slack will not take it, it is saved under CAPTURE_DIR
and the answer says where.

Watching a restart is why people tail, so the tail outlives its container: when the stream
ends (the container stopped), it waits for the service's next container start (the same
container restarted, or a new one: `up`, a redeploy), says so in the thread and follows the
new start from its first line, until its time is up. This lives here, above the engine calls
(`container_of`, `follow_logs`), so any backend that has them gets it.

It can be stopped early with the button on the thread's first message, which runs
`/ops logs stop <id>` like any typed command (same parsing, role check, audit). The stop
flag lives in the bot's Redis under `redis_prefix`, so a click that reaches another
replica stops the tail that runs here: the loop reads the flag once per tick. Without
Redis there would be no way to stop it, so a tail is not started then.

A live tail is an operator's command (`logs --follow` is its own operation), while reading
the last lines stays open to viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import redis.asyncio as aioredis
from pydantic import AfterValidator, Field, ValidationInfo
from redis.exceptions import RedisError

from bot.core.argtypes import DURATION_WORD, DurationArg, ServiceName, option, positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation
from bot.core.threads import Thread, ThreadError
from bot.output.results import Attachment, Block, Button, Buttons, Code, Result, Text
from bot.output.terminal import save_files
from bot.storage.database import short_error
from bot.targets.stack import ContainerInfo, StackServices
from bot.text import times
from bot.text.durations import format_duration
from bot.text.errors import TargetError, UnavailableError
from bot.text.ids import new_id
from bot.text.messages import Catalog
from handlers.containers import docker_of

log = logging.getLogger(__name__)

DEFAULT_FOLLOW = "2m"
MIN_FOLLOW = timedelta(seconds=2)
MAX_FOLLOW = timedelta(minutes=15)
RESTART_POLL = 0.5  # seconds between looks for the service's next start while its container is down
FLUSH_INTERVAL = 1.0  # Slack accepts about one message per second per channel
MAX_BATCH_CHARS = 2700  # one Slack section (3,000) with room for the code fence
MAX_LINE_CHARS = 500
MAX_CAPTURE_BYTES = 8 * 1024 * 1024
KEY_MARGIN = 120  # the stop flag outlives the tail by this much (seconds)
ENDED_TTL = 600  # a late click on Stop says "already ended" for this long
REDIS_TIMEOUT = 2.0
MAX_FAILED_IN_A_ROW = 3  # replies refused in a row (each after SlackThread's retries) end the tail
CAPTURE_DIR = Path(tempfile.gettempdir()) / "ops-bot-captures"  # where a capture Slack refused is kept
_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")

Ending = Literal["time", "stopped", "ended", "failed", "thread"]

# Moves running → stop:<user> once; tells whoever comes later what happened instead.
_STOP = """
local state = redis.call('GET', KEYS[1])
if not state then return 'unknown' end
if state == 'running' then
  redis.call('SET', KEYS[1], 'stop:' .. ARGV[1], 'KEEPTTL')
  return 'stopping'
end
return state
"""


def _catalog(info: ValidationInfo) -> Catalog:
    return (info.context or {}).get("t") or Catalog()


def _bounded(value: timedelta, info: ValidationInfo) -> timedelta:
    if value > MAX_FOLLOW:
        raise ValueError(_catalog(info)("logs.follow.too_long", limit=format_duration(MAX_FOLLOW)))
    if value < MIN_FOLLOW:
        raise ValueError(_catalog(info)("logs.follow.too_short", limit=format_duration(MIN_FOLLOW)))
    return value


def _follow_id(value: str, info: ValidationInfo) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(_catalog(info)("logs.follow.bad_id"))
    return value


FollowDuration = Annotated[DurationArg, AfterValidator(_bounded)]
FollowId = Annotated[str, Field(max_length=40), AfterValidator(_follow_id)]


class FollowArgs(OpArgs):
    service: ServiceName = positional(metavar="service")
    follow: FollowDuration = option(
        timedelta(minutes=2), metavar=DEFAULT_FOLLOW, bare=DEFAULT_FOLLOW, value_pattern=DURATION_WORD
    )


class StopArgs(OpArgs):
    id: FollowId = positional(metavar="id")


# ---- the stop switch ---------------------------------------------------------------------------


@dataclass
class StopSwitch:
    """One tail's stop flag in the bot's Redis: `running`, then `stop:<user>` or `ended`."""

    redis: aioredis.Redis
    key: str

    @classmethod
    def of(cls, ctx: OpContext, follow_id: str) -> StopSwitch:
        return cls(ctx.deps.redis, f"{ctx.deps.settings.redis_prefix}follow:{follow_id}")

    async def arm(self, ttl: float) -> None:
        async with asyncio.timeout(REDIS_TIMEOUT):
            await self.redis.set(self.key, "running", ex=max(1, math.ceil(ttl)), nx=True)

    async def stopped_by(self) -> str | None:
        """Who asked to stop, if anyone; a Redis hiccup reads as "not stopped" (time still bounds it)."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                raw = await self.redis.get(self.key)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("live tail: stop flag unreadable (%s)", short_error(exc))
            return None
        state = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        return state.removeprefix("stop:") if state.startswith("stop:") else None

    async def stop(self, user: str) -> str:
        async with asyncio.timeout(REDIS_TIMEOUT):
            answer = await self.redis.eval(_STOP, 1, self.key, user)
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    async def end(self) -> None:
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(REDIS_TIMEOUT):
                await self.redis.set(self.key, "ended", ex=ENDED_TTL)


# ---- the tail ----------------------------------------------------------------------------------


@dataclass
class Capture:
    """Every line seen, up to MAX_CAPTURE_BYTES (then counted, not kept), and those not yet posted."""

    lines: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    size: int = 0
    dropped: int = 0

    def add(self, line: str) -> None:
        self.pending.append(line)
        if self.size + len(line) + 1 > MAX_CAPTURE_BYTES:
            self.dropped += 1
            return
        self.lines.append(line)
        self.size += len(line) + 1

    def take(self) -> list[str]:
        batch, self.pending = self.pending, []
        return batch

    @property
    def total(self) -> int:
        return len(self.lines) + self.dropped


def batch_message(t: Catalog, service: str, batch: list[str]) -> Result:
    """The newest lines of a batch that fit one message; how many more are in the file."""
    shown: list[str] = []
    size = 0
    for line in reversed(batch):
        line = line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"
        if size + len(line) + 1 > MAX_BATCH_CHARS:
            break
        shown.insert(0, line)
        size += len(line) + 1
    blocks: list[Block] = []
    if len(shown) < len(batch):
        blocks.append(Text(t("logs.follow.batch_more", count=len(batch) - len(shown))))
    blocks.append(Code("\n".join(shown)))
    return Result(title="", blocks=blocks, summary=t("logs.follow.batch_summary", service=service, count=len(batch)))


def _first_line_of(start: ContainerInfo) -> datetime:
    """Where a new start's lines begin in its log. Its first line can carry a time just before
    `started_at` (the engine records the start after the process began writing), so reading from
    `started_at` could miss it: a restarted container is read from the end of its previous run
    (nothing of that run comes after it), a new container from its beginning. A Swarm task is
    read through its service's log, which holds every task's lines: from its start."""
    if start.task is not None:
        return start.started_at or datetime.now(UTC)
    if start.finished_at is not None and (start.started_at is None or start.finished_at <= start.started_at):
        return start.finished_at
    return datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class LiveTail:
    """Read the stream in a task of its own; post what came at most once per FLUSH_INTERVAL."""

    ctx: OpContext
    docker: StackServices
    service: str
    thread: Thread
    handle: str
    switch: StopSwitch
    seconds: float
    capture: Capture = field(default_factory=Capture)
    last_post: float = -math.inf
    stopped_by: str | None = None
    error: str | None = None
    posts: int = 0
    lost_replies: int = 0
    lost_error: str | None = None
    failed_in_a_row: int = 0
    restarts: int = 0
    down_since: datetime | None = None
    """When the followed container stopped, while no new start has been seen yet."""

    async def _read(self) -> None:
        """Follow the service across restarts: each time its stream ends, wait for its next start,
        then follow that start from its first line."""
        seen = await self.docker.container_of(self.service)
        since: datetime | None = None
        while True:
            async with contextlib.aclosing(self.docker.follow_logs(self.service, since=since)) as lines:
                async for line in lines:
                    self.capture.add(self.ctx.deps.redact(line))
            now = await self._next_start(seen)
            self.down_since = None
            if now.id == seen.id and now.started_at == seen.started_at:
                since = None  # the stream broke while the container ran on: reattach from now
                continue
            self.restarts += 1
            zone = times.zone(self.ctx.config.timezone)
            started = times.labelled(now.started_at or datetime.now(UTC), zone, "%H:%M:%S")
            key = "logs.follow.container_restarted" if now.id == seen.id else "logs.follow.container_replaced"
            self._say(key, name=now.name, at=started)
            seen, since = now, _first_line_of(now)

    def _say(self, key: str, **fields: str) -> None:
        self.capture.add(f"── {self.ctx.t(key, service=self.service, **fields)} ──")

    async def _next_start(self, before: ContainerInfo) -> ContainerInfo:
        """The service's container once it runs again after `before` (a later start, or another
        container). Errors while it is being recreated (no container for a moment, the engine
        busy) are looked past: the tail's own time bounds the wait. The same start still running
        at the first look means the stream broke, not the container: it is returned as it is,
        with `down_since` left None."""
        while True:
            await asyncio.sleep(RESTART_POLL)
            try:
                now: ContainerInfo | None = await self.docker.container_of(self.service)
            except TargetError:
                now = None
            if now is not None and now.running:
                start, last = now.started_at, before.started_at
                later = start is not None and (last is None or start > last)
                if now.id != before.id or later or self.down_since is None:
                    return now
            if self.down_since is None:
                self.down_since = datetime.now(UTC)
                self._say("logs.follow.container_stopped", name=before.name)

    async def _pace(self) -> None:
        wait = self.last_post + FLUSH_INTERVAL - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def send(self, message: Result | Attachment) -> None:
        """Post into the thread, never sooner than FLUSH_INTERVAL after the previous post."""
        await self._pace()
        self.last_post = time.monotonic()
        if isinstance(message, Attachment):
            await self.thread.attach(self.handle, message)
        else:
            await self.thread.reply(self.handle, message)
        self.posts += 1

    async def post_batch(self) -> None:
        """The pending lines as one reply. A reply Slack did not take even after SlackThread's
        retries is counted and its lines stay in the capture (the file has them); only
        MAX_FAILED_IN_A_ROW refusals in a row end the tail, with ThreadError."""
        try:
            await self.send(batch_message(self.ctx.t, self.service, self.capture.take()))
            self.failed_in_a_row = 0
        except ThreadError as exc:
            self.lost_replies += 1
            self.failed_in_a_row += 1
            self.lost_error = str(exc)
            log.warning("live tail of %s: a reply was not posted (%s)", self.service, exc)
            if self.failed_in_a_row >= MAX_FAILED_IN_A_ROW:
                raise

    async def run(self) -> Ending:
        reader = asyncio.create_task(self._read())
        deadline = time.monotonic() + self.seconds
        ending: Ending = "time"
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.wait({reader}, timeout=min(FLUSH_INTERVAL, remaining))
                if self.capture.pending and time.monotonic() - self.last_post >= FLUSH_INTERVAL:
                    await self.post_batch()
                if reader.done():
                    ending = "ended"
                    break
                self.stopped_by = await self.switch.stopped_by()
                if self.stopped_by:
                    ending = "stopped"
                    break
            if self.capture.pending:
                await self.post_batch()
        except ThreadError as exc:
            self.error = str(exc)
            ending = "thread"
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        failure = reader.exception() if ending == "ended" and not reader.cancelled() else None
        if failure is not None:
            self.error = self.ctx.t.text(failure.detail) if isinstance(failure, TargetError) else short_error(failure)
            ending = "failed"
        return ending


# ---- the commands ------------------------------------------------------------------------------


def _refused(title: str, message: str) -> Result:
    return Result(title=title, blocks=[Text(message)], ok=False, ephemeral=True, summary=message)


@operation("logs --follow", FollowArgs, role="operator", timeout=MAX_FOLLOW.total_seconds() + 120, long=True)
async def follow(ctx: OpContext, args: FollowArgs) -> Result:
    """Live tail of a service's logs into a thread, batched, bounded in time, with a Stop button."""
    t = ctx.t
    title = t("logs.follow.title", service=args.service)
    if ctx.thread is None:
        return _refused(title, t("logs.follow.no_thread", command=f"{ctx.prefix} logs {args.service} --tail 100"))
    docker = docker_of(ctx)
    await docker.container_of(args.service)  # no thread for a service without a container
    seconds = args.follow.total_seconds()
    follow_id = new_id(12)
    switch = StopSwitch.of(ctx, follow_id)
    try:
        await switch.arm(seconds + KEY_MARGIN)
    except (RedisError, OSError, TimeoutError) as exc:
        raise UnavailableError(
            part=t("part.redis"), operation=f"{ctx.prefix} logs --follow", detail=short_error(exc)
        ) from None
    zone = times.zone(ctx.config.timezone)
    until = datetime.now(zone) + args.follow
    stop_command = f"{ctx.prefix} logs stop {follow_id}"
    opening = Result(
        title=title,
        blocks=[
            Text(
                t(
                    "logs.follow.started",
                    service=args.service,
                    duration=args.follow,
                    until=times.labelled(until, zone, "%H:%M:%S"),
                    command=stop_command,
                )
            ),
            Buttons([Button(t("logs.follow.stop_button"), stop_command, style="danger")]),
        ],
        summary=t("logs.follow.summary_live", service=args.service),
    )
    try:
        handle = await ctx.thread.start(opening)
    except ThreadError as exc:
        await switch.end()
        return _refused(title, t("logs.follow.thread_refused", detail=str(exc)))
    started = time.monotonic()
    tail = LiveTail(ctx, docker, args.service, ctx.thread, handle, switch, seconds)
    try:
        ending = await tail.run()
    finally:
        await switch.end()
    took = t.duration(timedelta(seconds=time.monotonic() - started))
    capture = tail.capture
    why = _why(t, ending, tail)
    summary = t("logs.follow.done", service=args.service, count=capture.total, took=took, why=why)
    blocks: list[Block] = [Text(summary)]
    if capture.dropped:
        blocks.append(Text(t("logs.follow.capped", kept=len(capture.lines), size=MAX_CAPTURE_BYTES // (1024 * 1024))))
    if tail.lost_replies and ending != "thread":
        blocks.append(Text(t("logs.follow.replies_lost", count=tail.lost_replies, detail=tail.lost_error or "?")))
    if capture.lines:  # the whole capture, however the tail ended
        name = f"{args.service}-live-{datetime.now(zone):%Y%m%d-%H%M%S}.log"
        file = Attachment(name, ("\n".join(capture.lines) + "\n").encode(), summary)
        try:
            await tail.send(file)
            blocks.append(Text(t("logs.follow.file_in_thread", name=name)))
        except ThreadError as exc:
            blocks.append(await _save_on_host(t, file, CAPTURE_DIR / follow_id, str(exc), len(capture.lines)))
            blocks.append(file)  # the answer carries it too: its upload is tried once more
    ok = ending in ("time", "stopped", "ended")
    return Result(title=title, blocks=blocks, ok=ok, summary=summary)


async def _save_on_host(t: Catalog, file: Attachment, directory: Path, detail: str, count: int) -> Text:
    """The capture Slack would not take, written under CAPTURE_DIR (a folder per tail, so two
    tails ending in the same second keep both files) so it is never lost."""
    try:
        [path] = await asyncio.to_thread(save_files, [file], directory)
    except OSError as exc:
        log.error("live tail capture %s lost: upload failed (%s), save failed (%s)", file.filename, detail, exc)
        return Text(t("logs.follow.not_saved", detail=detail, error=short_error(exc)))
    log.warning("live tail capture saved to %s: its upload failed (%s)", path, detail)
    return Text(t("logs.follow.saved_on_host", detail=detail, path=str(path), count=count))


def _why(t: Catalog, ending: Ending, tail: LiveTail) -> str:
    if ending == "stopped":
        return t("logs.follow.why.stopped", user=tail.stopped_by or "?")
    if ending in ("failed", "thread"):
        return t("logs.follow.why." + ending, detail=tail.error or "?")
    if ending == "time" and tail.down_since is not None:
        zone = times.zone(tail.ctx.config.timezone)
        return t("logs.follow.why.down", at=times.labelled(tail.down_since, zone, "%H:%M:%S"))
    return t("logs.follow.why." + ending)


@operation("logs stop", StopArgs, role="operator", hidden=True, answer=True)
async def stop(ctx: OpContext, args: StopArgs) -> Result:
    """Stop a live tail (the Stop button of its thread); any replica's click reaches it."""
    t = ctx.t
    try:
        state = await StopSwitch.of(ctx, args.id).stop(ctx.user_id)
    except (RedisError, OSError, TimeoutError) as exc:
        operation = f"{ctx.prefix} logs stop"
        raise UnavailableError(part=t("part.redis"), operation=operation, detail=short_error(exc)) from None
    if state == "stopping":
        message = t("logs.follow.stopping")
    elif state.startswith("stop:"):
        message = t("logs.follow.already_stopping", user=state.removeprefix("stop:"))
    elif state == "ended":
        message = t("logs.follow.already_ended")
    else:
        message = t("logs.follow.unknown")
    return Result(title="", blocks=[Text(message)], ephemeral=True, summary=message, ok=state == "stopping")
