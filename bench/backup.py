"""Benchmark: `/ops db backup` against the runbook's `pg_dump | gzip > file`, on a ~1 GB database.

    python bench/backup.py [--size-mb 1024] [--repeat 1] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Creates a fresh database (dropped at the end, whatever happens) and fills it with
generate_series to about `--size-mb` (pg_database_size), then `--repeat` times, in
turns:

1. runs `/ops db backup` through the bot's dispatcher (the path a typed command takes:
   parse, role, handler; it is not destructive, so there is no confirmation) while a
   thread samples this process's VmRSS every 50 ms;
2. runs `pg_dump --clean --if-exists … | gzip -6 > file` through bash: the same dump
   options (bot.procedures.backups.DUMP_ARGS) and the same gzip level (6, gzip's default) as the bot.

Prints every run, the medians, their ratio (target <= 1.1), both file sizes, and the
bot's RSS before and at its peak during the backup (target: flat, under 150 MB: the dump
is streamed, never held in memory). Exit status 0 only if both targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import runtime as rt  # noqa: E402
from bot.config.ops_yml import parse_config  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from bot.core.dispatcher import Invocation  # noqa: E402
from bot.procedures.backups import DUMP_ARGS, human_size  # noqa: E402

BATCH_ROWS = 250_000
USER = "U0BENCH"


def rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Peak VmRSS of this process, sampled every `every` seconds in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kb())
            self.samples += 1
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fill(url: str, size_mb: int) -> int:
    """Orders-like rows in batches until the database reaches `size_mb`; returns its size in bytes."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true);"
            "INSERT INTO tenants SELECT 'tenant_' || g, 'Tienda ' || g, true FROM generate_series(0, 499) g;"
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL,"
            " total NUMERIC(12, 2) NOT NULL, created_at TIMESTAMPTZ NOT NULL, note TEXT NOT NULL)"
        )
        start = 1
        while True:
            size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
            if size >= size_mb * 1024 * 1024:
                return size
            if (start // BATCH_ROWS) % 4 == 0:
                print(f"  database: {human_size(size)}", flush=True)
            await conn.execute(
                """
                INSERT INTO orders
                SELECT g, 'tenant_' || (g % 500), (ARRAY['pending', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
                       (g % 100000) / 100.0, timestamptz '2025-01-01' + g * interval '1 second',
                       'order ' || g || ' ' || md5(g::text) || ' ' || md5((g * 7)::text)
                FROM generate_series($1::bigint, $2::bigint) g
                """,
                start,
                start + BATCH_ROWS - 1,
                timeout=600,
            )
            start += BATCH_ROWS
    finally:
        await conn.close()


def config_text(dsn: str, backups: Path) -> str:
    return f"""\
timezone: America/Santiago
stack:
  postgres:
    dsn: {dsn}
  backups:
    dir: {backups}
    keep: 100
roles:
  viewer: ["*"]
  operator: [{USER}]
  admin: []
"""


async def bot_backup(runtime: rt.Runtime) -> tuple[float, int, bool, str]:
    before = rss_kb()
    with RssSampler() as sampler:
        started = time.perf_counter()
        result = await runtime.dispatcher.dispatch(Invocation("/ops db backup", USER, None, "shell"))
        took = time.perf_counter() - started
    return took, max(sampler.peak, before), result.ok, result.summary


def shell_backup(dsn: str, target: Path) -> float:
    script = f'{" ".join(DUMP_ARGS)} --dbname "$DSN" | gzip -6 > "$OUT"'
    started = time.perf_counter()
    subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        env={**os.environ, "DSN": dsn, "OUT": str(target)},
        check=True,
        timeout=3600,
    )
    return time.perf_counter() - started


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pg", default=os.environ.get("OPS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    suffix = secrets.token_hex(3)
    target_name, bot_name = f"pedidos_bench_{suffix}", f"opsbot_bench_{suffix}"
    target_url, bot_url = with_db(args.pg, target_name), with_db(args.pg, bot_name)
    work = Path(tempfile.mkdtemp(prefix="ops-bench-backup-"))
    runtime: rt.Runtime | None = None
    try:
        await admin(args.pg, f'CREATE DATABASE "{target_name}"')
        await admin(args.pg, f'CREATE DATABASE "{bot_name}"')
        print(f"filling {target_name} to about {args.size_mb} MB …", flush=True)
        started = time.perf_counter()
        size = await fill(target_url, args.size_mb)
        print(f"  {human_size(size)} in {time.perf_counter() - started:.0f}s", flush=True)

        (work / "ops.yml").write_text(config_text(target_url, work / "backups"))
        parse_config((work / "ops.yml").read_text())
        settings = Settings(ops_config=str(work / "ops.yml"), database_url=bot_url)  # type: ignore[call-arg]
        runtime = await rt.start(settings, rt.load_config(settings.ops_config), migrate=False, configure_logging=False)
        await runtime.deps.db.migrate()
        idle_rss = rss_kb()

        bot_times: list[float] = []
        shell_times: list[float] = []
        peaks: list[int] = []
        bot_size = shell_size = 0
        for run in range(1, args.repeat + 1):
            took, peak, ok, summary = await bot_backup(runtime)
            if not ok:
                print(f"bot backup FAILED: {summary}")
                return 1
            newest = max((work / "backups").glob("pedidos_*.sql.gz"))
            bot_size = newest.stat().st_size
            newest.unlink()
            bot_times.append(took)
            peaks.append(peak)
            reference = work / "reference.sql.gz"
            shell_took = await asyncio.to_thread(shell_backup, target_url, reference)
            shell_size = reference.stat().st_size
            reference.unlink()
            shell_times.append(shell_took)
            print(
                f"run {run}: /ops db backup {took:.1f}s ({human_size(bot_size)}, peak RSS {peak / 1024:.0f} MB)"
                f" · pg_dump | gzip {shell_took:.1f}s ({human_size(shell_size)})",
                flush=True,
            )

        bot_median, shell_median = statistics.median(bot_times), statistics.median(shell_times)
        ratio = bot_median / shell_median
        peak_mb = max(peaks) / 1024
        print()
        print(f"database size           {human_size(size)}")
        print(f"/ops db backup          {bot_median:.1f}s  (median of {len(bot_times)}), file {human_size(bot_size)}")
        print(
            f"pg_dump | gzip > file   {shell_median:.1f}s  (median of {len(shell_times)}),"
            f" file {human_size(shell_size)}"
        )
        print(f"ratio bot / shell       {ratio:.3f}   (target <= 1.1)")
        print(
            f"bot RSS idle -> peak    {idle_rss / 1024:.0f} MB -> {peak_mb:.0f} MB"
            " (sampled every 50 ms; target < 150 MB)"
        )
        passed = ratio <= 1.1 and peak_mb < 150
        print("PASS" if passed else "FAIL")
        return 0 if passed else 1
    finally:
        if runtime is not None:
            await runtime.close()
        for name in (target_name, bot_name):
            try:
                await admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:
                print(f"could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
