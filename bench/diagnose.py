"""Benchmark: `/ops diagnose slow` and `/ops diagnose payments` against the runbook typed by hand.

    python bench/diagnose.py [--delay 0.3] [--repeat 5] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Every target answers in `--delay` seconds: each sits behind a TCP proxy of this script
that holds back the first byte of every answer by that much (one delay per request and
answer round trip, whatever the protocol). The targets are real:

- the API's /metrics: a prometheus_client exporter with known histograms (tests/exporter.py);
- Bull Board: tests/bull/server.js with its own key prefix and failed `payments` jobs;
- the Docker engine (its unix socket, proxied to a TCP port): busybox containers of a
  compose project of this run whose api logs webhook lines, removed at the end;
- Postgres: a private server that loads pg_stat_statements (tests/private_postgres.py),
  or, when this machine cannot start one, a database of this run on the shared server.

For each section, after one warm-up run (connection pools):

1. the bot: `SlackBot.work` from the invocation to its final message (the answer posted
   through `respond`), `--repeat` times;
2. the runbook by hand: the same steps run one after another, each timed alone.

Prints the medians, the slowest single step, the sum of the steps, and the ratio
bot / slowest step (target <= 1.2). `diagnose slow` runs twice: with one scrape of
/metrics (`metrics_window: 0s`, what `curl /metrics` does) and with the default
two scrapes 1 s apart, which the rates need. Exit status 0 only if every target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import API_SCRIPT, BUSYBOX  # noqa: E402
from exporter import Exporter, start_exporter  # noqa: E402
from private_postgres import start_private_postgres  # noqa: E402

from bot.app import runtime as rt  # noqa: E402
from bot.config.ops_yml import parse_config  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from bot.core.dispatcher import Invocation  # noqa: E402
from bot.slack.app import build_slack_app, web_client  # noqa: E402
from handlers.diagnose import PLANS, Plan, run_step  # noqa: E402

REDIS_URL = os.environ.get("OPS_TEST_REDIS", "redis://127.0.0.1:6379/0")
USER = "U0BENCH"


class DelayProxy:
    """A TCP proxy whose answers start `delay` seconds late: one delay per request/answer turn."""

    def __init__(self, delay: float, host: str = "127.0.0.1", port: int = 0, unix: str | None = None) -> None:
        self.delay, self.host, self.port, self.unix = delay, host, port, unix
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.unix:
            up_reader, up_writer = await asyncio.open_unix_connection(self.unix)
        else:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        asked = {"pending": False}

        async def upstream() -> None:
            while data := await reader.read(65536):
                asked["pending"] = True
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if asked["pending"]:
                    asked["pending"] = False
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            up_writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=check)


async def admin(pg: str, sql: str) -> None:
    conn = await asyncpg.connect(pg, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def start_board(prefix: str, delay_port_for: Callable[[int], Awaitable[int]]) -> tuple[Any, str, str]:
    env = {**os.environ, "REDIS_URL": REDIS_URL, "PORT": "0", "QUEUES": "payments", "PREFIX": prefix}
    env["BASE_PATH"] = "/admin/queues"
    process = await asyncio.create_subprocess_exec(
        "node", str(ROOT / "tests" / "bull" / "server.js"), env=env, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    port = json.loads(await asyncio.wait_for(process.stdout.readline(), 15))["port"]
    root = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for reason, count in (("card declined", 6), ("gateway timeout", 2)):
            body = {"queue": "payments", "count": count, "fail": True, "reason": reason}
            async with session.post(f"{root}/test/jobs", json=body) as response:
                assert response.status == 201
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            async with session.get(f"{root}/test/counts", params={"queue": "payments"}) as response:
                if (await response.json())["failed"] == 8:
                    break
            await asyncio.sleep(0.1)
    proxied = await delay_port_for(port)
    return process, root, f"http://127.0.0.1:{proxied}/admin/queues"


def config_text(project: str, docker_url: str, api_url: str, board_url: str, dsn: str, window: str) -> str:
    return f"""\
slack: {{command: /ops}}
stack:
  api: {{base_url: "{api_url}", health: {{api: /health}}, timeout: 5s, metrics_window: {window}}}
  bull_board: {{base_url: "{board_url}", queues: [payments]}}
  postgres: {{dsn: "{dsn}"}}
  docker: {{url: "{docker_url}", compose_project: {project}, services: [api, postgres, redis]}}
roles: {{viewer: ["*"]}}
"""


def plan_of(ctx: Any, section: str) -> Plan:
    plan = Plan(title=section)
    PLANS[section](ctx, plan)
    return plan


async def measure(runtime: rt.Runtime, section: str, repeat: int) -> tuple[list[float], list[float], dict[str, float]]:
    """Bot times to the final message, by-hand sums, and each step's by-hand median."""
    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="s", slack_api_url="http://127.0.0.1:9/api/")  # type: ignore[call-arg]
    slack = build_slack_app(settings, runtime.dispatcher, web_client(settings))
    bot_times: list[float] = []
    hand_sums: list[float] = []
    per_step: dict[str, list[float]] = {}
    answered: list[float] = []

    async def respond(**_: Any) -> None:
        answered.append(time.perf_counter())

    for run in range(repeat + 1):  # run 0 warms the pools up
        answered.clear()
        started = time.perf_counter()
        await slack.work(Invocation(f"diagnose {section}", USER, "C1", "slack"), respond)
        bot = answered[-1] - started
        ctx = runtime.dispatcher.context(Invocation(f"diagnose {section}", USER, "C1", "shell"), "viewer")
        total = 0.0
        states = []
        count = len(plan_of(ctx, section).steps)
        for index in range(count):
            # A plan of its own per step: by hand, each runbook line fetches what it needs
            # (the bot shares one /metrics observation between latency and cache hit rate).
            plan = plan_of(ctx, section)
            step = plan.steps[index]
            try:
                ran = await run_step(ctx, step)
            finally:
                for cleanup in plan.cleanups:
                    cleanup()
            total += ran.seconds
            states.append(ran.check.state)
            if run:
                per_step.setdefault(step.name, []).append(ran.seconds)
        if run:
            bot_times.append(bot)
            hand_sums.append(total)
            print(f"  run {run}: bot {bot:.3f}s · by hand {total:.3f}s · verdicts {states}", flush=True)
    return bot_times, hand_sums, {name: statistics.median(times) for name, times in per_step.items()}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("OPS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    suffix = secrets.token_hex(3)
    project, bot_name = f"pedidosbench{suffix}", f"opsbot_bench_{suffix}"
    prefix = f"opsbot-bench:{suffix}:"
    proxies: list[DelayProxy] = []
    closers: list[Callable[[], Awaitable[None]]] = []
    containers: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="ops-bench-diagnose-"))
    board_process = None
    private = None
    shared_target: str | None = None
    runtime: rt.Runtime | None = None

    async def delayed(port: int = 0, unix: str | None = None) -> int:
        proxy = DelayProxy(args.delay, port=port, unix=unix)
        proxies.append(proxy)
        return await proxy.start()

    try:
        await admin(args.pg, f'CREATE DATABASE "{bot_name}"')
        for service, script in {"api": API_SCRIPT, "postgres": "sleep 3600", "redis": "sleep 3600"}.items():
            name = f"{project}-{service}-1"
            docker("run", "-d", "--network", "none", "--name", name,
                   "--label", f"com.docker.compose.project={project}",
                   "--label", f"com.docker.compose.service={service}", BUSYBOX, "sh", "-c", script)  # fmt: skip
            containers.append(name)
        docker_port = await delayed(unix="/var/run/docker.sock")

        exporter = await start_exporter(Exporter())
        closers.append(exporter.close)
        metrics_port = await delayed(port=int(exporter.url.rsplit(":", 1)[1]))

        board_process, _, board_url = await start_board(f"{prefix}bull", lambda port: delayed(port=port))

        private = start_private_postgres(shared_preload_libraries="pg_stat_statements")
        if private is not None:
            conn = await asyncpg.connect(private.url, timeout=5)
            await conn.execute("CREATE EXTENSION pg_stat_statements")
            await conn.execute("SELECT pg_sleep(0.05)")
            await conn.close()
            pg_host_port = private.port
            dsn_db = "postgres"
        else:
            shared_target = f"pedidos_bench_{suffix}"
            await admin(args.pg, f'CREATE DATABASE "{shared_target}"')
            pg_host_port = int(args.pg.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            dsn_db = shared_target
        dsn = f"postgresql://postgres@127.0.0.1:{await delayed(port=pg_host_port)}/{dsn_db}"
        # a settle so the webhook lines of the last 15 minutes exist
        await asyncio.sleep(1.5)

        figures: list[tuple[str, float, float, float, float]] = []
        for section, window in (("slow", "0s"), ("slow", "1s"), ("payments", "0s")):
            if runtime is not None:
                await runtime.close()
            path = work / "ops.yml"
            path.write_text(
                config_text(
                    project,
                    f"tcp://127.0.0.1:{docker_port}",
                    f"http://127.0.0.1:{metrics_port}",
                    board_url,
                    dsn,
                    window,
                )
            )
            parse_config(path.read_text())
            settings = Settings(  # type: ignore[call-arg]
                ops_config=str(path), database_url=with_db(args.pg, bot_name), redis_url=REDIS_URL, redis_prefix=prefix
            )
            runtime = await rt.start(settings, rt.load_config(str(path)), migrate=False, configure_logging=False)
            await runtime.deps.db.migrate()
            label = f"diagnose {section}" + (f" (metrics_window {window})" if section == "slow" else "")
            print(f"{label}, every target answering in {args.delay * 1000:.0f} ms:", flush=True)
            bot_times, hand_sums, steps = await measure(runtime, section, args.repeat)
            bot, hand = statistics.median(bot_times), statistics.median(hand_sums)
            slowest = max(steps.values())
            for name, seconds in steps.items():
                print(f"    step {name:<45} {seconds:.3f}s (median, alone)")
            figures.append((label, bot, hand, slowest, bot / slowest))

        print()
        print(f"{'':<42} {'bot':>8} {'by hand':>9} {'slowest':>9} {'bot/slowest':>12}")
        for label, bot, hand, slowest, ratio in figures:
            print(f"{label:<42} {bot:>7.3f}s {hand:>8.3f}s {slowest:>8.3f}s {ratio:>12.2f}")
        passed = all(ratio <= 1.2 for *_, ratio in figures)
        print("target: bot within 1.2x the slowest single step")
        print("PASS" if passed else "FAIL")
        return 0 if passed else 1
    finally:
        if runtime is not None:
            await runtime.close()
        for proxy in proxies:
            await proxy.close()
        for close in closers:
            await close()
        if board_process is not None and board_process.returncode is None:
            board_process.terminate()
            await board_process.wait()
        client = aioredis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        if containers:
            docker("rm", "-f", *containers, check=False)
        if private is not None:
            private.stop()
        for name in (bot_name, shared_target):
            if name:
                try:
                    await admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as exc:
                    print(f"could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
