"""Soak: a real `ops-bot serve` under mixed commands and clicks at a steady rate for N minutes.

    python bench/soak.py [--minutes 30] [--rate 10] [--warmup 60] [--tracemalloc FILE]
                         [--malloc-stats FILE [--malloc-trim SECONDS]]

Several users send, at `--rate` requests per second (absolute schedule, not "as fast as it
answers"): read-only commands (status, health, contacts, cache ping/stats, tenant show,
incident list, oncall, ps, help), button clicks, commands refused for their role, bad input,
and destructive flows (cache flush-tenant: preview, then a click on Confirm or Cancel).
Everything is on loopback: the Slack emulator in this process, the bot as a subprocess,
a local /health target, a private redis-server as the stack's cache, this machine's Postgres.

Printed at the end: requests sent, answered, errors by kind (HTTP status, ack over 3 s,
no answer within 15 s, an internal-error id or traceback, a confirmed step not done), ack
latency p50/p99/max, and the bot process's RSS, open file descriptors, threads, its
database connections (pg_stat_activity) and its Redis keys, after the warm-up ("start") and
at the end. The run fails (exit 1) on any error or on RSS growth beyond 10 %.

`--tracemalloc FILE` runs the bot under tracemalloc (bench/tracemalloc_site) and writes to
FILE which Python allocations grew between the end of the warm-up and the end: where RSS
growth comes from. Tracing slows the bot down, so its ack figures do not count.

`--malloc-stats FILE` appends the bot's glibc `mallinfo2()` figures (heap held, in use, free)
to FILE each minute; with `--malloc-trim SECONDS` the bot also calls `malloc_trim(0)` that
often. Growth of "free" with "in use" level is fragmentation, not a leak.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from botproc import SIGNING_SECRET, BotLauncher, BotProcess, shown  # noqa: E402
from parts import RedisPart  # noqa: E402
from slack_emulator import RESPONSE_URL, SlackEmulator  # noqa: E402
from slack_signing import block_actions_body, new_trigger_id, signed_headers, slash_command_body  # noqa: E402
from targets import delayed, start_http_target  # noqa: E402

PG = os.environ.get("OPS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("OPS_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHANNEL = "C0SOAK"
ACK_BUDGET = 3.0
ANSWER_TIMEOUT = 15.0
MAX_IN_FLIGHT = 200
TENANTS = 20
KEYS_PER_TENANT = 30
OPERATORS = ["U0SOAKOP1", "U0SOAKOP2"]
ADMINS = ["U0SOAKAD1"]
VIEWERS = [f"U0SOAKV{n}" for n in range(1, 6)]

CONFIG = """\
slack: {{command: /ops, incident_channel: C0INCIDENTS, allowed_channels: []}}
timezone: America/Santiago
stack:
  api: {{base_url: {api}, health: {{api: /health, db: /health/db}}, timeout: 2s}}
  postgres: {{dsn: {target_db}, tenants_table: tenants}}
  redis: {{url: {target_redis}, tenant_key_pattern: "tenant:{{tenant}}:*"}}
  docker: {{compose_project: soaknocontainers, services: [api, postgres, redis]}}
roles:
  viewer: ["*"]
  operator: {operators}
  admin: {admins}
contacts:
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, on_call: true}}
  - {{role: tech_lead, name: Ana Rojas, slack: U0TECHLEAD, hours: "09:00-18:00"}}
"""

READS = [
    "status",
    "health",
    "contacts",
    "cache ping",
    "cache stats",
    "tenant show t1",
    "incident list",
    "oncall",
    "ps",
    "help",
    "db connections",
]
BAD = ["stauts", "logs", "logs api --tail abc", "'", "tenant show ../../etc", "cache flush-tenant t*", "<!channel>"]


@dataclass
class Stats:
    sent: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {detail[:200]}")


class Answers:
    """Indexes what the emulator received by response_url id, and forgets the calls it has read
    (the emulator keeps every call; over 30 minutes that would be the driver's memory growth)."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.emu = emu
        self.by_id: dict[str, str] = {}

    def collect(self) -> None:
        calls = self.emu._calls  # the emulator has no public "drain"; this driver owns its emulator
        taken = len(calls)
        for call in calls[:taken]:
            if call.method == RESPONSE_URL:
                key = str(call.args.get("_response_id"))
                self.by_id[key] = shown(call) + "\n" + json.dumps(call.args.get("blocks") or [])
            elif call.method == "chat.update":
                self.by_id[f"ts:{call.args.get('ts')}"] = shown(call) + "\n" + json.dumps(call.args.get("blocks") or [])
        del calls[:taken]

    async def wait(self, key: str, pattern: str = "", timeout: float = ANSWER_TIMEOUT) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.collect()
            text = self.by_id.get(key)
            if text is not None and (not pattern or re.search(pattern, text)):
                return self.by_id.pop(key)
            await asyncio.sleep(0.05)
        return None


class Driver:
    def __init__(self, bot: BotProcess, emu: SlackEmulator, stack_redis: redis.Redis) -> None:
        self.bot = bot
        self.emu = emu
        self.answers = Answers(emu)
        self.stack_redis = stack_redis
        self.stats = Stats()
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.ts = itertools.count(1)

    async def post(self, body: str, kind: str) -> bool:
        self.stats.sent[kind] += 1
        try:
            status, answer, seconds = await self.bot.request(
                "POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET)
            )
        except Exception as exc:
            self.stats.error("request failed", repr(exc))
            return False
        self.stats.acks.append(seconds)
        if status != 200:
            self.stats.error("http status", f"{status} {answer}")
            return False
        if seconds >= ACK_BUDGET:
            self.stats.error("ack over 3 s", f"{seconds:.2f}s")
        return True

    def check(self, text: str | None, what: str) -> str | None:
        if text is None:
            self.stats.error("no answer", what)
            return None
        self.stats.answered += 1
        if "inside the bot (error id" in text or "Traceback" in text:
            self.stats.error("internal error", f"{what}: {text}")
        return text

    async def command(self, text: str, user: str, kind: str, pattern: str = "") -> str | None:
        response_url = self.emu.response_url()
        key = response_url.rsplit("/", 1)[1]
        body = slash_command_body(text, user, CHANNEL, response_url, trigger_id=new_trigger_id())
        if not await self.post(body, kind):
            return None
        return self.check(await self.answers.wait(key, pattern), text)

    async def click(self, value: str, user: str, kind: str, pattern: str = "") -> str | None:
        response_url = self.emu.response_url()
        ts = f"1700000000.{next(self.ts):06d}"
        body = block_actions_body("ops_run:0", value, user, CHANNEL, response_url, message_ts=ts)
        if not await self.post(body, kind):
            return None
        # a click's answer edits its message (chat.update) or comes on the response_url
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            found = await self.answers.wait(f"ts:{ts}", pattern, timeout=0.2) or await self.answers.wait(
                response_url.rsplit("/", 1)[1], pattern, timeout=0.05
            )
            if found is not None:
                return self.check(found, value)
        return self.check(None, value)

    async def flush_flow(self, n: int, confirm: bool) -> None:
        tenant = f"t{2 + n % (TENANTS - 1)}"
        operator = OPERATORS[n % len(OPERATORS)]
        preview = await self.command(f"cache flush-tenant {tenant}", operator, "destructive preview", "Cancel")
        if preview is None:
            return
        found = re.search(r"/ops (confirm|cancel) ([A-Za-z0-9_-]+)", preview)
        if found is None:
            self.stats.error("no buttons", preview)
            return
        verb = "confirm" if confirm else "cancel"
        final = await self.click(f"/ops {verb} {found.group(2)}", operator, f"click {verb}", r"done|failed|cancelled")
        if final is not None and confirm and "✅ done" not in final:
            self.stats.error("confirmed step not done", final)
        if confirm:  # refill, so the next flush of this tenant has keys to delete
            self.stack_redis.mset({f"tenant:{tenant}:k{k}": "v" for k in range(KEYS_PER_TENANT)})

    async def one(self, n: int, rng: random.Random) -> None:
        async with self.slots:
            roll = rng.random()
            viewer = rng.choice(VIEWERS)
            if roll < 0.55:
                await self.command(rng.choice(READS), viewer, "read-only command")
            elif roll < 0.65:
                await self.click("/ops contacts", viewer, "button click", "Marta")
            elif roll < 0.72:
                await self.command("audit 5", viewer, "refused for role", "needs the")
            elif roll < 0.76:
                await self.command("audit 5", rng.choice(ADMINS), "admin command")
            elif roll < 0.86:
                await self.command(rng.choice(BAD), viewer, "bad input")
            else:
                await self.flush_flow(n, confirm=roll < 0.96)


def process_figures(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
    }


async def figures(bot: BotProcess, bot_db: str, prefix: str) -> dict[str, int]:
    values = process_figures(bot.proc.pid)
    conn = await asyncpg.connect(f"{PG}/postgres", timeout=5)
    try:
        values["db_connections"] = int(
            await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", bot_db)
        )
    finally:
        await conn.close()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        values["redis_keys"] = sum(1 for _ in client.scan_iter(match=prefix + "*", count=1000))
    finally:
        client.close()
    return values


def _size(path: str | None) -> int:
    return os.path.getsize(path) if path and os.path.exists(path) else 0


async def snapshot_allocations(bot: BotProcess, out: str | None) -> None:
    """SIGUSR1 to the traced bot: a baseline the first time, then the growth since it, written to `out`."""
    before = _size(out)
    os.kill(bot.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while out and time.monotonic() < deadline:
        if _size(out) > before:
            await asyncio.sleep(1)  # the bot is still writing
            return
        await asyncio.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def run(
    minutes: float,
    rate: float,
    warmup: float,
    seed: int,
    trace: str | None = None,
    malloc_stats: str | None = None,
    malloc_trim: float = 0.0,
) -> int:
    name = f"opsbot_soak_{secrets.token_hex(3)}"
    target = f"pedidos_soak_{secrets.token_hex(3)}"
    prefix = f"{name}:"
    admin = await asyncpg.connect(f"{PG}/postgres", timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.execute(f'CREATE DATABASE "{target}"')
    stack = RedisPart()
    stack_client = stack.client()
    work = Path(tempfile.mkdtemp(prefix="ops-soak-"))
    api = await start_http_target({"/health": delayed(0), "/health/db": delayed(0.02)})
    failed = True
    site = {"PYTHONPATH": f"{REPO / 'bench' / 'tracemalloc_site'}{os.pathsep}{REPO}"}
    traced = {**site, "PYTHONTRACEMALLOC": "6", "TRACEMALLOC_OUT": trace} if trace else {}
    if malloc_stats:
        traced.update(site, MALLOC_STATS_OUT=malloc_stats, MALLOC_TRIM_EVERY=str(malloc_trim))
    try:
        conn = await asyncpg.connect(f"{PG}/{target}", timeout=5)
        await conn.execute("CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL)")
        await conn.executemany(
            "INSERT INTO tenants VALUES ($1, $2, true)", [(f"t{n}", f"Tienda {n}") for n in range(1, TENANTS + 1)]
        )
        await conn.close()
        for n in range(1, TENANTS + 1):
            stack_client.mset({f"tenant:t{n}:k{k}": "v" for k in range(KEYS_PER_TENANT)})
        config = work / "ops.yml"
        config.write_text(
            CONFIG.format(
                api=api.url,
                target_db=f"{PG}/{target}",
                target_redis=stack.url,
                operators=json.dumps(OPERATORS),
                admins=json.dumps(ADMINS),
            )
        )
        # tier limits off: the soak measures the bot, and its thousands of commands in minutes
        # would spend most of the run waiting out Retry-After (scopes and Block Kit are still checked)
        async with SlackEmulator(rate_limits=False) as emu, BotLauncher(work) as launcher:
            bot = await launcher.serve(
                config,
                emu.api_url,
                f"{PG}/{name}",
                extra_env={"REDIS_PREFIX": prefix, "LOG_LEVEL": "WARNING", **traced},
                ready_timeout=120.0 if trace or malloc_stats else 60.0,  # tracing slows startup; so does a loaded host
            )
            cold = await figures(bot, name, prefix)
            driver = Driver(bot, emu, stack_client)
            rng = random.Random(seed)
            tasks: set[asyncio.Task[None]] = set()
            began = time.monotonic()
            total = warmup + minutes * 60
            warm: dict[str, int] | None = None
            trajectory: list[int] = []
            n = 0
            next_at = began
            while time.monotonic() - began < total:
                if warm is None and time.monotonic() - began >= warmup:
                    if tasks:  # the warm-up's requests are answered (and counted) before the measured run starts
                        await asyncio.wait(tasks, timeout=ANSWER_TIMEOUT + 5)
                    warm = await figures(bot, name, prefix)
                    if trace:
                        await snapshot_allocations(bot, None)
                    driver.stats = Stats()
                    began = time.monotonic() - warmup
                    next_at = time.monotonic()
                    print(f"warm-up done ({warmup:g}s); measuring for {minutes:g} min at {rate:g}/s", flush=True)
                task = asyncio.create_task(driver.one(n, rng))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
                next_at += 1 / rate
                if n % int(rate * 60) == 0:
                    elapsed = time.monotonic() - began
                    rss = process_figures(bot.proc.pid)["rss_kb"]
                    if warm is not None:
                        trajectory.append(rss)
                    print(f"  {elapsed / 60:5.1f} min: {sum(driver.stats.sent.values())} sent, "
                          f"{sum(driver.stats.errors.values())} errors, in flight {len(tasks)}, "
                          f"RSS {rss / 1024:.1f} MB", flush=True)  # fmt: skip
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if tasks:
                await asyncio.wait(tasks, timeout=ANSWER_TIMEOUT + 5)
            end = await figures(bot, name, prefix)
            if trace:
                await snapshot_allocations(bot, trace)
            alive = bot.alive
            stderr = bot.stderr()
        stats = driver.stats
        start = warm or cold
        growth = (end["rss_kb"] - start["rss_kb"]) / start["rss_kb"]
        sent = sum(stats.sent.values())
        print()
        print(f"soak: {minutes:g} min at {rate:g} requests/s after a {warmup:g} s warm-up (seed {seed})")
        print(f"requests sent: {sent}  ({', '.join(f'{k} {v}' for k, v in sorted(stats.sent.items()))})")
        print(f"answers received: {stats.answered}")
        print(f"errors: {sum(stats.errors.values())}  {dict(stats.errors) or ''}")
        for sample in stats.error_samples:
            print(f"  {sample}")
        print(
            f"ack latency: p50 {pct(stats.acks, 0.5) * 1000:.1f} ms, p99 {pct(stats.acks, 0.99) * 1000:.1f} ms, "
            f"max {max(stats.acks, default=0) * 1000:.1f} ms"
        )
        print(f"{'':22}{'cold':>10}{'start':>10}{'end':>10}")
        for key in ("rss_kb", "fds", "threads", "db_connections", "redis_keys"):
            print(f"{key:22}{cold[key]:>10}{start[key]:>10}{end[key]:>10}")
        print(f"RSS growth start→end: {growth * 100:+.1f}% (limit +10%)")
        print("RSS each minute (MB): " + " ".join(f"{kb / 1024:.1f}" for kb in trajectory))
        print(f"bot alive at the end: {alive}; tracebacks in its log: {stderr.count('Traceback')}")
        failed = bool(stats.errors) or growth > 0.10 or not alive or "Traceback" in stderr
        print("RESULT:", "FAIL" if failed else "PASS")
    finally:
        await api.close()
        stack_client.close()
        stack.stop()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start_at in range(0, len(keys), 500):
            client.delete(*keys[start_at : start_at + 500])
        client.close()
        with contextlib.suppress(Exception):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.close()
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="measured duration (default 30)")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds of the same load before 'start' (default 60)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tracemalloc", metavar="FILE", help="trace the bot's allocations; growth written to FILE")
    parser.add_argument(
        "--malloc-stats", metavar="FILE", help="append the bot's glibc malloc figures to FILE every minute"
    )
    parser.add_argument(
        "--malloc-trim",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --malloc-stats: also call malloc_trim(0) in the bot this often (diagnosis)",
    )
    args = parser.parse_args()
    trace = str(Path(args.tracemalloc).resolve()) if args.tracemalloc else None
    stats = str(Path(args.malloc_stats).resolve()) if args.malloc_stats else None
    return asyncio.run(run(args.minutes, args.rate, args.warmup, args.seed, trace, stats, args.malloc_trim))


if __name__ == "__main__":
    sys.exit(main())
