"""Runbook "Gestión de Caché": INFO, PING, one tenant's keys, emptying the stack's cache database.

The runbook clears a tenant with `redis-cli --scan --pattern "tenant:ID:*" | xargs DEL`.
Two things about that line matter here:

* the tenant id goes into a glob, so `*`, `abc*`, `a?c` or `[a-z]` would clear other
  tenants' keys (or all of them). `TenantId` refuses any id with glob characters or
  outside ops.yml's `tenant_id_pattern`, and `tenant_pattern` escapes the id anyway, so
  the match can never be wider than one tenant;
* `--scan` uses COUNT 10: one round trip per ten slots of the key space.
  `flush_tenant_keys` walks it a few thousand slots per round trip, and UNLINKs what each
  step found inside Redis (a short Lua step), so the keys never travel to the bot; every
  step stays around a millisecond, so the application's own requests are not held up.
  Where the server refuses scripts, the same walk runs from the client with pipelines.

`tenant_pattern`, `count_tenant_keys` and `flush_tenant_keys` are the one place that
knows how to find and delete a tenant's keys; `handlers/tenants.py` reuses them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import redis.asyncio as aioredis
from pydantic import AfterValidator, Field, ValidationInfo
from redis.exceptions import NoPermissionError, RedisError, ResponseError

from bot.config.ops_yml import OpsConfig
from bot.core.argtypes import positional
from bot.core.context import OpContext
from bot.core.registry import NoArgs, OpArgs, operation, preview_for
from bot.core.verify import check, observe, verified
from bot.output.results import Check, Checks, Code, Fields, Result, Table, Text
from bot.storage.database import short_error
from bot.text.errors import BotError, TargetError, UsageError
from bot.text.messages import Catalog

READ_TIMEOUT = 5.0
"""INFO, PING, DBSIZE: small answers; longer than this means the stack's Redis is in trouble."""
SCAN_TIMEOUT = 60.0
"""Counting a tenant's keys walks the whole key space (about 1 s per million keys)."""
FLUSH_TIMEOUT = 600.0
"""A flush stops only when done or when Redis fails; each command has the client's own socket timeout."""

SCAN_COUNT = 1000
"""Slots examined per step, and so how long one step holds the server (nothing else runs
meanwhile): 1000 round trips per million keys. bench/flush_tenant.py measured 2000 as fast
as 5000 with half the worst stall; Redis's SLOWLOG then showed each step's hold scales with
COUNT (p50 3.0 ms at 2000, 1.5 ms at 1000, same loaded machine), so 1000 halves it again."""
UNLINK_BATCH = 1000
"""Keys per UNLINK call: amortizes the call, stays sub-millisecond (at most MAX_UNLINK_BATCH,
the most Lua's `unpack` can pass at once)."""
MAX_UNLINK_BATCH = 5000
PROGRESS_EVERY = 50_000
SAMPLE_KEYS = 5
MAX_TENANT_LENGTH = 128

GLOB_SPECIALS = frozenset("*?[]\\")
_GLOB_ESCAPE = re.compile(r"([*?\[\]\\])")

OnProgress = Callable[[int], Awaitable[None]]
log = logging.getLogger(__name__)


# ---- the tenant id and its key pattern ---------------------------------------------------


def tenant_problem(config: OpsConfig | None, tenant: str) -> str | None:
    """The catalog key explaining why `tenant` cannot name one tenant, or None if it can."""
    if not tenant:
        return "arg.tenant_empty"
    if any(ch in GLOB_SPECIALS for ch in tenant):
        return "arg.tenant_wildcard"
    pattern = config.tenant_id_pattern if config is not None else OpsConfig().tenant_id_pattern
    if re.fullmatch(pattern, tenant) is None:
        return "arg.tenant_pattern"
    return None


def _tenant(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    config: OpsConfig | None = context.get("config")
    t: Catalog = context.get("t") or Catalog()
    problem = tenant_problem(config, value)
    if problem is not None:
        pattern = config.tenant_id_pattern if config is not None else OpsConfig().tenant_id_pattern
        raise ValueError(t(problem, pattern=pattern))
    return value


TenantId = Annotated[str, Field(max_length=MAX_TENANT_LENGTH), AfterValidator(_tenant)]
"""One tenant id: matches ops.yml's `tenant_id_pattern` and never contains a glob character."""


class TenantArgs(OpArgs):
    tenant: TenantId = positional(metavar="tenant")


def glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis MATCH pattern."""
    return _GLOB_ESCAPE.sub(r"\\\1", text)


def tenant_pattern(config: OpsConfig, tenant: str) -> str:
    """The MATCH pattern of one tenant's keys, e.g. `tenant:abc123:*`.

    Checks the id again (callers outside argument parsing, such as the benchmark, get the
    same guarantee) and escapes it, so no id can widen the match.
    """
    redis_config = config.stack.redis
    if redis_config is None:
        raise BotError("stack.not_configured", setting="stack.redis")
    problem = tenant_problem(config, tenant)
    if problem is not None:
        raise UsageError(problem, pattern=config.tenant_id_pattern)
    return redis_config.tenant_key_pattern.replace("{tenant}", glob_escape(tenant))


# ---- counting and deleting -----------------------------------------------------------------

# One SCAN step run inside Redis: the step's keys never cross the wire, so a key costs
# Redis well under a microsecond instead of the ~10 µs the pure-Python client needs to
# parse it. Each call is bounded by COUNT, so it holds the server for about a millisecond.
# The keys it deletes are not declared in KEYS: right for one Redis server (the stack's),
# not for Redis Cluster, where SCAN would have to visit every node anyway.
_STEP_SCRIPT = """
local found = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local keys = found[2]
local n = #keys
if ARGV[4] == '1' then
  n = 0
  local batch = tonumber(ARGV[5])
  for i = 1, #keys, batch do
    n = n + redis.call('UNLINK', unpack(keys, i, math.min(i + batch - 1, #keys)))
  end
end
local samples = {}
for i = 1, math.min(#keys, tonumber(ARGV[6])) do samples[i] = keys[i] end
return {found[1], n, samples}
"""


@dataclass(frozen=True)
class KeyCount:
    count: int
    samples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FlushReport:
    deleted: int
    seconds: float


class FlushInterrupted(Exception):
    """Redis failed in the middle of a flush; `deleted` keys are already gone."""

    def __init__(self, deleted: int, cause: BaseException) -> None:
        super().__init__(f"flush interrupted after {deleted} keys: {cause}")
        self.deleted = deleted
        self.cause = cause


def _key_text(key: bytes | str) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else key


@dataclass
class _Tally:
    """Running total of a walk over the key space, with its samples and progress reports."""

    want_samples: int = 0
    on_progress: OnProgress | None = None
    progress_every: int = PROGRESS_EVERY
    total: int = 0
    samples: list[str] = field(default_factory=list)
    next_report: int = PROGRESS_EVERY

    @property
    def missing_samples(self) -> int:
        return max(0, self.want_samples - len(self.samples))

    async def add(self, count: int, keys: list[Any]) -> None:
        self.total += count
        self.samples.extend(_key_text(k) for k in keys[: self.missing_samples])
        if self.on_progress is not None and self.total >= self.next_report:
            self.next_report = (self.total // self.progress_every + 1) * self.progress_every
            try:
                await self.on_progress(self.total)
            except Exception:  # a progress line that cannot be shown must not stop a flush halfway
                log.warning("progress report failed at %d keys", self.total, exc_info=True)


def _scripting_refused(exc: ResponseError) -> bool:
    """EVAL denied by an ACL or renamed away (hardened servers): walk from the client instead."""
    return isinstance(exc, NoPermissionError) or "unknown command" in str(exc).lower()


async def _walk_in_server(
    redis: aioredis.Redis, pattern: str, tally: _Tally, delete: bool, scan_count: int, unlink_batch: int
) -> None:
    step = redis.register_script(_STEP_SCRIPT)
    cursor = 0
    while True:
        answer = await step(args=[cursor, pattern, scan_count, int(delete), unlink_batch, tally.missing_samples])
        cursor = int(answer[0])
        await tally.add(int(answer[1]), list(answer[2]))
        if cursor == 0:
            return


async def _walk_from_client(
    redis: aioredis.Redis, pattern: str, tally: _Tally, delete: bool, scan_count: int, unlink_batch: int
) -> None:
    """Plain SCAN (+ UNLINK): the keys found by one SCAN are unlinked in the same pipeline as
    the next SCAN (deleting keys already returned is safe for a SCAN in progress)."""
    cursor = 0
    pending: list[Any] = []
    while True:
        pipe = redis.pipeline(transaction=False)
        for start in range(0, len(pending), unlink_batch):
            pipe.unlink(*pending[start : start + unlink_batch])
        pipe.scan(cursor=cursor, match=pattern, count=scan_count)
        answers = await pipe.execute()
        cursor, found = answers[-1]
        if delete:
            await tally.add(sum(int(n) for n in answers[:-1]), found)
            pending = found
        else:
            await tally.add(len(found), found)
        if cursor == 0:
            break
    if pending:
        pipe = redis.pipeline(transaction=False)
        for start in range(0, len(pending), unlink_batch):
            pipe.unlink(*pending[start : start + unlink_batch])
        await tally.add(sum(int(n) for n in await pipe.execute()), [])


async def _walk(
    redis: aioredis.Redis,
    pattern: str,
    tally: _Tally,
    *,
    delete: bool,
    server_side: bool | None,
    scan_count: int,
    unlink_batch: int,
) -> None:
    """Walk the keys matching `pattern` once; `server_side=None` uses Lua when the server allows it."""
    unlink_batch = max(1, min(unlink_batch, MAX_UNLINK_BATCH))
    if server_side is not False:
        try:
            await _walk_in_server(redis, pattern, tally, delete, scan_count, unlink_batch)
            return
        except ResponseError as exc:
            if server_side or tally.total or not _scripting_refused(exc):
                raise
            log.info("Lua scripting refused by the stack's Redis (%s); scanning from the client", exc)
    await _walk_from_client(redis, pattern, tally, delete, scan_count, unlink_batch)


async def count_tenant_keys(
    redis: aioredis.Redis,
    pattern: str,
    *,
    samples: int = SAMPLE_KEYS,
    scan_count: int = SCAN_COUNT,
    server_side: bool | None = None,
) -> KeyCount:
    """How many keys match `pattern`, and the first few of them; deletes nothing.

    SCAN may return a key twice while Redis resizes its table, so on a changing key space
    the count can be slightly high; it never misses a key that exists throughout.
    """
    tally = _Tally(want_samples=samples)
    await _walk(
        redis, pattern, tally, delete=False, server_side=server_side, scan_count=scan_count, unlink_batch=UNLINK_BATCH
    )
    return KeyCount(tally.total, tally.samples)


async def flush_tenant_keys(
    redis: aioredis.Redis,
    pattern: str,
    *,
    on_progress: OnProgress | None = None,
    progress_every: int = PROGRESS_EVERY,
    scan_count: int = SCAN_COUNT,
    unlink_batch: int = UNLINK_BATCH,
    server_side: bool | None = None,
) -> FlushReport:
    """Delete every key matching `pattern` with SCAN MATCH + UNLINK, a few thousand slots per round trip.

    Each step runs SCAN and UNLINKs what it found inside Redis (one short Lua call), or, where
    the server refuses scripts, pipelines the UNLINK of one SCAN's keys with the next SCAN.
    The count comes from UNLINK's answers, so a key SCAN returns twice, or one that expired
    meanwhile, is not counted. Never KEYS, never a round trip per key.
    Raises FlushInterrupted, carrying how many keys were deleted, if Redis fails midway.
    """
    started = time.perf_counter()
    tally = _Tally(on_progress=on_progress, progress_every=progress_every, next_report=progress_every)
    try:
        await _walk(
            redis,
            pattern,
            tally,
            delete=True,
            server_side=server_side,
            scan_count=scan_count,
            unlink_batch=unlink_batch,
        )
    except (RedisError, OSError, TimeoutError) as exc:
        raise FlushInterrupted(tally.total, exc) from exc
    return FlushReport(tally.total, time.perf_counter() - started)


# ---- talking to the stack's Redis --------------------------------------------------------


def redis_of(ctx: OpContext) -> aioredis.Redis:
    """The stack's Redis (not the bot's own), or a clear "not configured" message."""
    if ctx.deps.target_redis is None:
        raise BotError("stack.not_configured", setting="stack.redis")
    return ctx.deps.target_redis


def redis_failure(ctx: OpContext, exc: BaseException, timeout: float | None = None) -> TargetError:
    """A Redis failure as the one-line message a user sees (redacted: URLs may carry passwords)."""
    if isinstance(exc, TimeoutError) and timeout is not None:
        detail = ctx.t("check.timeout", seconds=f"{timeout:g}")
    else:
        detail = ctx.t("cache.unreachable", detail=short_error(exc))
    return TargetError("redis", ctx.deps.redact(detail))


@asynccontextmanager
async def talking_to_redis(ctx: OpContext, timeout: float) -> AsyncIterator[None]:
    """Bound a conversation with the stack's Redis in time; any failure becomes a TargetError."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise redis_failure(ctx, exc, timeout) from None


def number(t: Catalog, value: int) -> str:
    """`1,234` in English, `1.234` in Spanish (Babel's `format_decimal`)."""
    return t.number(value)


# ---- read-only operations -----------------------------------------------------------------


def _keyspace(info: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(db, keys, expires) for every non-empty database, from INFO's keyspace section."""
    rows = []
    for name, value in info.items():
        if re.fullmatch(r"db\d+", name) and isinstance(value, dict):
            rows.append((name, int(value.get("keys", 0)), int(value.get("expires", 0))))
    return sorted(rows, key=lambda row: int(row[0][2:]))


@operation("cache stats", NoArgs)
async def stats(ctx: OpContext, args: NoArgs) -> Result:
    """The stack's Redis at a glance: version, uptime, clients, memory, keys, hit rate, evictions."""
    t = ctx.t
    redis = redis_of(ctx)
    async with talking_to_redis(ctx, READ_TIMEOUT):
        info: dict[str, Any] = await redis.info()
    hits = int(info.get("keyspace_hits", 0))
    misses = int(info.get("keyspace_misses", 0))
    rate = f"{t.number(100 * hits / (hits + misses), 1)}%" if hits + misses else "—"
    uptime = t.duration(timedelta(seconds=int(info.get("uptime_in_seconds", 0))))
    pairs = [
        (t("cache.stats.version"), str(info.get("redis_version", "?"))),
        (t("cache.stats.uptime"), uptime),
        (t("cache.stats.clients"), number(t, int(info.get("connected_clients", 0)))),
        (t("cache.stats.memory"), str(info.get("used_memory_human", "?"))),
        (t("cache.stats.hits"), number(t, hits)),
        (t("cache.stats.misses"), number(t, misses)),
        (t("cache.stats.hit_rate_server"), rate),
        (t("cache.stats.evicted"), number(t, int(info.get("evicted_keys", 0)))),
    ]
    dbs = _keyspace(info)
    total = sum(keys for _, keys, _ in dbs)
    summary = t("cache.stats.summary", keys=number(t, total), rate=rate)
    blocks: list[Fields | Table | Text] = [Fields(pairs)]
    if dbs:
        rows = [[name, number(t, keys), number(t, expires)] for name, keys, expires in dbs]
        blocks.append(Table(t("cache.stats.columns").split("|"), rows))
    else:
        blocks.append(Text(t("cache.empty")))
    # Not the API's cache_hit_rate (`/ops metrics cache`): the server counts every lookup since it started.
    blocks.append(Text(t("cache.stats.hit_rate_source", uptime=uptime)))
    return Result(title=t("cache.stats.title"), blocks=list(blocks), summary=summary)


@operation("cache ping", NoArgs)
async def ping(ctx: OpContext, args: NoArgs) -> Result:
    """PING the stack's Redis and show the round trip."""
    redis = redis_of(ctx)
    started = time.perf_counter()
    async with talking_to_redis(ctx, READ_TIMEOUT):
        await redis.ping()
    ms = (time.perf_counter() - started) * 1000
    summary = ctx.t("cache.ping.summary", ms=ctx.t.number(ms, 1))
    check = Check("redis", "ok", ctx.t("check.pong"), ms)
    return Result(title=ctx.t("cache.ping.title"), blocks=[Checks([check])], summary=summary)


# ---- flush one tenant ---------------------------------------------------------------------


def progress_reporter(ctx: OpContext) -> OnProgress:
    async def report(deleted: int) -> None:
        await ctx.progress(ctx.t("cache.flush.progress", deleted=number(ctx.t, deleted)))

    return report


# What a flush observes afterwards: the keys left, counted again. A flush reports what it
# deleted; the app may be writing the same keys again a moment later, or a SCAN may have
# missed keys written during the walk, so "0 left" is what makes it verified.


async def _one(read: Awaitable[Check]) -> list[Check]:
    return [await read]


SHOW_LEFT = 3
"""Keys named in a "not verified" line when some are left."""


async def tenant_keys_left(ctx: OpContext, redis: aioredis.Redis, pattern: str) -> Check:
    """The keys matching `pattern` now: verified when there are none."""
    t = ctx.t
    async with talking_to_redis(ctx, SCAN_TIMEOUT):
        counted = await count_tenant_keys(redis, pattern, samples=SHOW_LEFT)
    name = t("verify.cache.keys_left", pattern=pattern)
    if counted.count == 0:
        return check(name, True, t("verify.cache.none_left"))
    some = ", ".join(ctx.deps.redact(key) for key in counted.samples)
    return check(name, False, t("verify.cache.some_left", count=number(t, counted.count), keys=some))


async def database_keys_left(ctx: OpContext, redis: aioredis.Redis, where: str) -> Check:
    """DBSIZE of the flushed database now: verified when it is 0."""
    t = ctx.t
    async with talking_to_redis(ctx, READ_TIMEOUT):
        left = int(await redis.dbsize())
    name = t("verify.cache.db_left", where=where)
    if left == 0:
        return check(name, True, t("verify.cache.none_left"))
    return check(name, False, t("verify.cache.db_some_left", count=number(t, left)))


@operation(
    "cache flush-tenant",
    TenantArgs,
    role="operator",
    destructive="confirm",
    timeout=FLUSH_TIMEOUT,
    touches=("tenant-cache:{tenant}",),
    when_busy="wait",
)
async def flush_tenant(ctx: OpContext, args: TenantArgs) -> Result:
    """Delete every cache key of one tenant (SCAN + UNLINK in batches; other tenants untouched)."""
    t = ctx.t
    redis = redis_of(ctx)
    pattern = tenant_pattern(ctx.config, args.tenant)
    title = t("cache.flush.title", tenant=args.tenant)
    try:
        report = await flush_tenant_keys(redis, pattern, on_progress=progress_reporter(ctx))
    except FlushInterrupted as exc:
        text = t(
            "cache.flush.interrupted",
            deleted=number(t, exc.deleted),
            tenant=args.tenant,
            detail=ctx.deps.redact(short_error(exc.cause)),
        )
        return Result(title=title, blocks=[Text(text)], ok=False, summary=text)
    text = t(
        "cache.flush.done",
        deleted=report.deleted,
        tenant=args.tenant,
        seconds=report.seconds,
    )
    name = t("verify.cache.keys_left", pattern=pattern)
    checks = await observe(t, name, lambda: _one(tenant_keys_left(ctx, redis, pattern)))
    return verified(Result(title=title, blocks=[Text(text)], summary=text), t, checks)


def sample_block(ctx: OpContext, counted: KeyCount) -> list[Text | Code]:
    """A few of the keys that would go, so the person confirming sees what the pattern hits."""
    if not counted.samples:
        return []
    return [Text(ctx.t("cache.preview.samples")), Code("\n".join(ctx.deps.redact(k) for k in counted.samples))]


@preview_for("cache flush-tenant")
async def flush_tenant_preview(ctx: OpContext, args: TenantArgs) -> Result:
    """Count the tenant's keys with SCAN (no deletion) and show a few of them."""
    t = ctx.t
    redis = redis_of(ctx)
    pattern = tenant_pattern(ctx.config, args.tenant)
    async with talking_to_redis(ctx, SCAN_TIMEOUT):
        counted = await count_tenant_keys(redis, pattern)
    text = t("cache.preview.tenant", count=number(t, counted.count), pattern=pattern, tenant=args.tenant)
    return Result(
        title=t("cache.flush.title", tenant=args.tenant),
        blocks=[Text(text), *sample_block(ctx, counted)],
        summary=text,
    )


# ---- flush the stack's cache database -----------------------------------------------------
#
# The runbook says FLUSHALL, which empties every database of the server. When the bot's own
# Redis (confirmations, duplicate checks) or Bull's queues live on the same server, as in
# the demo, that wipes them too. `cache flush-all` therefore empties only the database that
# `stack.redis.url` names (FLUSHDB), says which one and what else lives in it, and counts
# what is left afterwards.


@dataclass(frozen=True)
class CacheDatabase:
    """The stack's cache database as the preview shows it: where, how many keys, who else uses it."""

    where: str
    keys: int
    queue_pattern: str
    queue_keys: int
    bot_prefix: str | None
    """The bot's REDIS_PREFIX when the bot's own Redis is this very server and database."""
    bot_keys: int
    others: list[tuple[str, int]]
    """The server's other non-empty databases, which the flush does not touch."""


def _address(redis: aioredis.Redis) -> tuple[str, int]:
    """`host:port` (or the socket path) and the database index of a client."""
    kwargs = redis.connection_pool.connection_kwargs
    place = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return str(place), int(kwargs.get("db", 0) or 0)


async def _server_id(redis: aioredis.Redis) -> str | None:
    """The server's `run_id` (unique per redis-server process), or None if it does not answer."""
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            info: dict[str, Any] = await redis.info("server")
    except (RedisError, OSError, TimeoutError):
        return None
    return str(info.get("run_id") or "") or None


async def _bot_shares_the_database(ctx: OpContext, stack: aioredis.Redis) -> bool:
    """Whether the bot's own Redis is the stack's cache database: same server and same db index.

    Same server is decided by the servers' `run_id`, so `localhost` and `127.0.0.1` (or a
    proxy's name) are not told apart by spelling; if the bot's Redis does not answer, by address.
    """
    bot = ctx.deps.redis
    if _address(bot)[1] != _address(stack)[1]:
        return False
    bot_id, stack_id = await _server_id(bot), await _server_id(stack)
    if bot_id is not None and stack_id is not None:
        return bot_id == stack_id
    return _address(bot) == _address(stack)


async def cache_database(ctx: OpContext) -> CacheDatabase:
    """What `cache flush-all` would act on, counted now; deletes nothing."""
    redis = redis_of(ctx)
    assert ctx.config.stack.redis is not None  # redis_of checked it
    place, db = _address(redis)
    queue_pattern = glob_escape(ctx.config.stack.redis.queue_prefix) + ":*"
    shares = await _bot_shares_the_database(ctx, redis)
    bot_prefix = ctx.deps.settings.redis_prefix
    async with talking_to_redis(ctx, SCAN_TIMEOUT):
        keys = int(await redis.dbsize())
        queue_keys = (await count_tenant_keys(redis, queue_pattern, samples=0)).count
        bot_keys = (await count_tenant_keys(redis, glob_escape(bot_prefix) + "*", samples=0)).count if shares else 0
        info: dict[str, Any] = await redis.info("keyspace")
    others = [(name, count) for name, count, _ in _keyspace(info) if name != f"db{db}"]
    shared_prefix = bot_prefix if shares else None
    return CacheDatabase(f"{place}/{db}", keys, queue_pattern, queue_keys, shared_prefix, bot_keys, others)


@operation("cache flush-all", NoArgs, role="admin", destructive="critical", touches=("cache",), when_busy="wait")
async def flush_all(ctx: OpContext, args: NoArgs) -> Result:
    """Empty the stack's cache database, the one stack.redis.url names (FLUSHDB ASYNC); other databases stay."""
    t = ctx.t
    redis = redis_of(ctx)
    place, db = _address(redis)
    async with talking_to_redis(ctx, READ_TIMEOUT):
        before = int(await redis.dbsize())
        await redis.flushdb(asynchronous=True)
        left = int(await redis.dbsize())
    key = "cache.flush_db.done" if left == 0 else "cache.flush_db.refilled"
    text = t(key, where=f"{place}/{db}", keys=number(t, before), left=number(t, left))
    name = t("verify.cache.db_left", where=f"{place}/{db}")
    checks = await observe(t, name, lambda: _one(database_keys_left(ctx, redis, f"{place}/{db}")))
    return verified(Result(title=t("cache.flush_all.title"), blocks=[Text(text)], summary=text), t, checks)


@preview_for("cache flush-all")
async def flush_all_preview(ctx: OpContext, args: NoArgs) -> Result:
    """Which database FLUSHDB would empty, its keys, and whose keys besides the cache's are in it."""
    t = ctx.t
    found = await cache_database(ctx)
    text = t("cache.preview.db", keys=number(t, found.keys), where=found.where)
    blocks: list[Text | Table] = [Text(text)]
    if found.queue_keys:
        blocks.append(Text(t("cache.preview.queues", count=number(t, found.queue_keys), pattern=found.queue_pattern)))
    if found.bot_prefix is not None:
        blocks.append(Text(t("cache.preview.bot", count=number(t, found.bot_keys), prefix=found.bot_prefix)))
    if found.others:
        others = ", ".join(f"{name} ({number(t, count)})" for name, count in found.others)
        blocks.append(Text(t("cache.preview.others", dbs=others)))
    return Result(title=t("cache.flush_all.title"), blocks=list(blocks), summary=text)
