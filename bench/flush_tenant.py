"""Benchmark: the bot's tenant flush against the runbook's `redis-cli --scan | xargs DEL`.

    python bench/flush_tenant.py [--total 1000000] [--tenant-keys 200000] [--repeat 3]
                                 [--scan-count N] [--unlink-batch N] [--client-side]

Starts a private redis-server on a free port (never the shared one) and loads `--total`
keys in pipelines of 10k SETs, of which `--tenant-keys` are `tenant:T:*`, interleaved with
neighbours `tenant:T1:*` … `tenant:T4:*` whose names share the prefix. Then, `--repeat`
times, with the tenant's keys re-SET under the same names before every run:

1. times `flush_tenant_keys` (what `/ops cache flush-tenant` runs) on a client built like
   the bot's own (`bot.core.deps.redis_client`), while another process PINGs every 5 ms and
   keeps the worst round trip: the application must not stall while the bot deletes;
2. times the runbook's line through bash under the same PINGer.

Prints every run, the medians, their ratio and the worst PINGs (and the worst PING of an
idle server, the noise floor of this machine), then PASS/FAIL for: exactly the other
keys survive every run, the tenant has no key left, bot >= 3x faster, worst PING during
the bot's flushes < 50 ms. Redis's SLOWLOG (threshold 0) is read after each bot run: the
time each of the flush's commands held the server (p50, p99, max) tells a stall the flush
causes from a PING that waited for this loaded machine's scheduler. Exit status 0 only if all pass.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from private_redis import PrivateRedis, start_private_redis  # noqa: E402

from bot.config.ops_yml import OpsConfig  # noqa: E402
from bot.core.deps import redis_client  # noqa: E402
from handlers.cache import SCAN_COUNT, UNLINK_BATCH, flush_tenant_keys, tenant_pattern  # noqa: E402

TENANT = "T"
BATCH = 10_000
PING_EVERY = 0.005


def keys(total: int, tenant_keys: int) -> Iterator[tuple[str, bool]]:
    """Every key name of the data set, and whether it is the tenant's; the same on every call."""
    stride = total // tenant_keys
    others = 0
    for i in range(total):
        if i % stride == 0 and i // stride < tenant_keys:
            yield f"tenant:{TENANT}:order:{i}", True
        else:
            others += 1
            yield f"tenant:{TENANT}{others % 4 + 1}:order:{i}", False


def load(server: PrivateRedis, total: int, tenant_keys: int, only_tenant: bool = False) -> float:
    """SET the data set (or only the tenant's part of it) in pipelines of 10k."""
    started = time.perf_counter()
    client = server.client()
    pipe = client.pipeline(transaction=False)
    queued = 0
    for name, is_tenant in keys(total, tenant_keys):
        if only_tenant and not is_tenant:
            continue
        pipe.set(name, "x" * 16)
        queued += 1
        if queued % BATCH == 0:
            pipe.execute()
    pipe.execute()
    loaded = client.dbsize()
    client.close()
    assert loaded == total, f"{loaded} keys in Redis, expected {total}"
    return time.perf_counter() - started


def pinger(port: int, stop: Event, out: Connection) -> None:
    """PING every 5 ms from its own process (no GIL shared with the flush) and report the worst."""
    client = redis.Redis(host="127.0.0.1", port=port)
    client.ping()
    out.send("ready")  # connected: the clock may start (on a loaded machine a spawn takes seconds)
    worst = 0.0
    count = 0
    while not stop.is_set():
        started = time.perf_counter()
        client.ping()
        worst = max(worst, time.perf_counter() - started)
        count += 1
        time.sleep(PING_EVERY)
    out.send((worst * 1000, count))
    client.close()


class PingWatch:
    """A PINGer process for the duration of a `with` block; `worst_ms` after it."""

    def __init__(self, port: int) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.recv, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=pinger, args=(port, self.stop, send), daemon=True)
        self.worst_ms = 0.0
        self.pings = 0

    def __enter__(self) -> PingWatch:
        self.process.start()
        if not self.recv.poll(120) or self.recv.recv() != "ready":
            raise RuntimeError("the PINGer did not start within 120 s")
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.worst_ms, self.pings = self.recv.recv()
        self.process.join(5)


async def bot_flush(server: PrivateRedis, opts: argparse.Namespace) -> tuple[float, int]:
    config = OpsConfig.model_validate({"stack": {"redis": {"url": server.url}}})
    client = redis_client(server.url)

    async def report(deleted: int) -> None:
        print(f"      progress: deleted {deleted:,} keys so far")

    try:
        await client.ping()
        started = time.perf_counter()
        outcome = await flush_tenant_keys(
            client,
            tenant_pattern(config, TENANT),
            on_progress=report,
            scan_count=opts.scan_count,
            unlink_batch=opts.unlink_batch,
            server_side=False if opts.client_side else None,
        )
        return time.perf_counter() - started, outcome.deleted
    finally:
        await client.aclose()


def slowlog_reset(server: PrivateRedis) -> None:
    """Let the server itself record the time every command held it (SLOWLOG, threshold 0)."""
    client = server.client()
    try:
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 200_000)
        client.slowlog_reset()
    finally:
        client.close()


def slowlog_steps(server: PrivateRedis) -> tuple[float, float, float, int]:
    """The flush's own commands (not the PINGer's) inside Redis: p50, p99, max in ms, and their count."""
    client = server.client()
    try:
        entries = client.slowlog_get(200_000)
        client.config_set("slowlog-log-slower-than", 10000)
    finally:
        client.close()
    ours = sorted(
        e["duration"] / 1000
        for e in entries
        if not str(e["command"]).upper().lstrip("B'\"").startswith(("PING", "SLOWLOG", "CONFIG"))
    )
    if not ours:
        return 0.0, 0.0, 0.0, 0
    return ours[len(ours) // 2], ours[min(len(ours) - 1, round(0.99 * (len(ours) - 1)))], ours[-1], len(ours)


def runbook_flush(server: PrivateRedis) -> float:
    port = server.port
    command = f'redis-cli -p {port} --scan --pattern "tenant:{TENANT}:*" | xargs redis-cli -p {port} DEL'
    started = time.perf_counter()
    subprocess.run(["bash", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def survivors(server: PrivateRedis) -> tuple[int, int]:
    """(keys that are not the tenant's, tenant keys left)."""
    client = server.client()
    try:
        left = sum(1 for _ in client.scan_iter(match=f"tenant:{TENANT}:*", count=5000))
        return client.dbsize() - left, left
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--tenant-keys", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scan-count", type=int, default=SCAN_COUNT)
    parser.add_argument("--unlink-batch", type=int, default=UNLINK_BATCH)
    parser.add_argument("--client-side", action="store_true", help="force the no-Lua fallback path")
    opts = parser.parse_args()
    others_expected = opts.total - opts.tenant_keys
    checks: list[tuple[str, bool]] = []
    bot_runs: list[float] = []
    runbook_runs: list[float] = []
    bot_pings: list[float] = []
    bot_held: list[float] = []
    bot_ping_counts: list[int] = []
    runbook_pings: list[float] = []
    server = start_private_redis()
    try:
        mode = "client-side pipeline" if opts.client_side else "server-side step (Lua), client-side if refused"
        print(f"private redis-server on port {server.port}; bot: {mode}, SCAN COUNT {opts.scan_count}")
        seconds = load(server, opts.total, opts.tenant_keys)
        print(f"loaded {opts.total:,} keys ({opts.tenant_keys:,} tenant:{TENANT}:*) in {seconds:.1f}s")
        with PingWatch(server.port) as idle:
            time.sleep(1.0)
        print(f"idle server: worst PING {idle.worst_ms:.1f} ms over {idle.pings} pings (this machine's noise)")
        for run in range(1, opts.repeat + 1):
            slowlog_reset(server)
            with PingWatch(server.port) as watch:
                seconds, deleted = asyncio.run(bot_flush(server, opts))
            p50, p99, held_ms, steps = slowlog_steps(server)
            others, left = survivors(server)
            bot_runs.append(seconds)
            bot_pings.append(watch.worst_ms)
            bot_ping_counts.append(watch.pings)
            bot_held.append(held_ms)
            print(f"  run {run} bot:     {seconds:5.2f}s  deleted {deleted:,}  worst PING {watch.worst_ms:5.1f} ms"
                  f" ({watch.pings} pings)  (inside Redis, {steps} commands: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {held_ms:.1f} ms)")  # fmt: skip
            checks.append(
                (
                    f"run {run} bot: {others:,} other keys survive, {left} tenant keys left, {deleted:,} reported",
                    others == others_expected and left == 0 and deleted == opts.tenant_keys,
                )
            )
            load(server, opts.total, opts.tenant_keys, only_tenant=True)
            with PingWatch(server.port) as watch:
                seconds = runbook_flush(server)
            others, left = survivors(server)
            runbook_runs.append(seconds)
            runbook_pings.append(watch.worst_ms)
            print(f"  run {run} runbook: {seconds:5.2f}s  worst PING {watch.worst_ms:5.1f} ms")
            checks.append(
                (
                    f"run {run} runbook: {others:,} other keys survive, {left} tenant keys left",
                    others == others_expected and left == 0,
                )
            )
            load(server, opts.total, opts.tenant_keys, only_tenant=True)
    finally:
        server.stop()
    bot = statistics.median(bot_runs)
    runbook = statistics.median(runbook_runs)
    ratio = runbook / bot
    print(f"median bot flush:     {bot:.2f}s   (best {min(bot_runs):.2f}s)")
    print(f"median runbook flush: {runbook:.2f}s   (best {min(runbook_runs):.2f}s)")
    print(f"ratio runbook/bot (medians): {ratio:.1f}x")
    print(f"worst PING: bot {max(bot_pings):.1f} ms, runbook {max(runbook_pings):.1f} ms, idle {idle.worst_ms:.1f} ms")
    print(f"longest command of the bot's flushes inside Redis (SLOWLOG): {max(bot_held):.1f} ms")
    checks.append((f"exactly {others_expected:,} other keys survive every flush", all(ok for _, ok in checks)))
    checks.append((f"bot is {ratio:.1f}x faster than the runbook (target >= 3x)", ratio >= 3))
    checks.append(
        (f"worst PING during the bot's flushes {max(bot_pings):.1f} ms (target < 50 ms)", max(bot_pings) < 50)
    )
    checks.append(
        (f"the PINGer pinged during every run (fewest pings: {min(bot_ping_counts)})", min(bot_ping_counts) > 0)
    )
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
