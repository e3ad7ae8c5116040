"""Alerts under a burst: N alert groups firing within one second at two `ops-bot serve`
replicas (half to each, and every webhook delivered again to the other replica, as an
Alertmanager HA pair does), then all resolving (the benchmark of issue 15).

    python bench/alerts.py [--groups 1000]

Prints the Slack calls made, top-level messages per group (must be 1), duplicates (must be 0),
p50/p99 from each webhook to its chat.postMessage and from each resolving webhook to its
chat.update (target p99 < 1 s), the busiest second per channel, and beside it what
Alertmanager's own Slack receiver would have posted for the same notifications (one message
per notification: firing and resolved, from each HA peer).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from targets import free_port  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
TOKEN = "bench-alerts-token-0123456789abcdef"
CONFIG = f"""\
slack: {{command: /ops, incident_channel: C0INCIDENTS}}
roles: {{viewer: ["*"]}}
alerts:
  channel: C0ALERTS
  token: {TOKEN}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def webhook(n: int, status: str) -> bytes:
    name = f"BenchAlert{n:05d}"
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "status": status,
            "receiver": "opsbot",
            "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "severity": "warning"},
            "commonAnnotations": {"summary": f"bench alert {n}"},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": name, "severity": "warning", "instance": f"api-{n % 3}"},
                    "annotations": {"summary": f"bench alert {n}"},
                    "startsAt": "2026-12-02T06:00:00Z",
                    "fingerprint": f"fp{n}",
                }
            ],
        }
    ).encode()


async def send_all(session: aiohttp.ClientSession, urls: list[str], count: int, status: str) -> dict[int, float]:
    """Every group's webhook to replica n % 2, then again to the other one; returns first send times."""
    sent: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    limit = asyncio.Semaphore(64)

    async def one(n: int, url: str, first: bool) -> int:
        async with limit:
            if first:
                sent[n] = time.time()
            async with session.post(f"{url}/alerts/alertmanager", data=webhook(n, status), headers=headers) as r:
                await r.read()
                return r.status

    started = time.monotonic()
    statuses = await asyncio.gather(
        *(one(n, urls[n % 2], True) for n in range(count)), *(one(n, urls[(n + 1) % 2], False) for n in range(count))
    )
    took = time.monotonic() - started
    bad = [s for s in statuses if s != 200]
    print(
        f"{status}: {len(statuses)} webhooks ({count} groups × 2 replicas) answered in {took:.2f}s; non-200: {len(bad)}"
    )
    return sent


async def wait_caught_up(conn: asyncpg.Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await conn.fetchval("SELECT count(*) FROM alert_groups WHERE posted_version < version"):
            return
        await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument(
        "--slack-rate",
        default="",
        metavar="PER_SECOND/BURST",
        help="the emulator answers chat.postMessage with 429 + Retry-After past this per-channel pace (Slack's is about 1/s with bursts)",
    )
    args = parser.parse_args()

    db = f"opsbot_alertbench_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{db}"')
    work = Path(tempfile.mkdtemp(prefix="alert-bench-"))
    (work / "ops.yml").write_text(CONFIG)
    procs: list[subprocess.Popen[Any]] = []
    try:
        emu_proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "slack_emulator.py"), "--port", "0"]
            + (["--rate-limit", f"chat.postMessage={args.slack_rate}"] if args.slack_rate else []),
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(emu_proc)
        emu = json.loads(emu_proc.stdout.readline())  # type: ignore[union-attr]
        env = {
            **os.environ,
            "OPS_CONFIG": str(work / "ops.yml"),
            "DATABASE_URL": f"{PG}/{db}",
            "REDIS_PREFIX": f"{db}:",
            "SLACK_API_URL": emu["api_url"],
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], env=env, cwd=work, check=True, capture_output=True)
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    cwd=work,
                    stdout=subprocess.DEVNULL,
                    stderr=(work / f"bot{port}.err").open("w"),
                )  # fmt: skip
            )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        async with aiohttp.ClientSession() as session:
            for url in urls:
                for _ in range(200):
                    try:
                        async with session.get(f"{url}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            conn = await asyncpg.connect(f"{PG}/{db}")
            fired = await send_all(session, urls, args.groups, "firing")
            started = time.monotonic()
            await wait_caught_up(conn, 600)
            firing_drained = time.monotonic() - started
            resolved = await send_all(session, urls, args.groups, "resolved")
            started = time.monotonic()
            await wait_caught_up(conn, 600)
            resolved_drained = time.monotonic() - started
            await asyncio.sleep(1.0)
            async with session.get(emu["url"] + "/_calls") as response:
                calls = await response.json()
            await conn.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()

    def group_of(call: dict[str, Any]) -> int | None:
        text = str(call["args"].get("text", "")) + json.dumps(call["args"].get("blocks") or [])
        marker = text.find("BenchAlert")
        return int(text[marker + 10 : marker + 15]) if marker >= 0 else None

    limited = [c for c in calls if c.get("limited")]
    calls = [c for c in calls if not c.get("limited")]
    posts = [c for c in calls if c["method"] == "chat.postMessage" and not c["args"].get("thread_ts")]
    per_group = collections.Counter(group_of(c) for c in posts)
    duplicates = sum(n - 1 for n in per_group.values() if n > 1)
    first_post = {}
    for c in posts:
        first_post.setdefault(group_of(c), c["at"])
    to_post = [first_post[n] - at for n, at in fired.items() if n in first_post]
    updates = [c for c in calls if c["method"] == "chat.update" and "Resolved after" in json.dumps(c["args"])]
    first_update = {}
    for c in updates:
        first_update.setdefault(group_of(c), c["at"])
    to_update = [first_update[n] - at for n, at in resolved.items() if n in first_update]
    by_method = collections.Counter(c["method"] for c in calls)
    per_second = collections.Counter(int(c["at"]) for c in posts)
    print(f"Slack calls: {dict(by_method)} ({len(calls)} in all)")
    print(
        f"429 answers (--slack-rate {args.slack_rate or 'off'}): {len(limited)}; all caught up"
        f" {firing_drained:.1f}s after the firing webhooks, {resolved_drained:.1f}s after the resolving ones"
    )
    if fired and first_post:
        t0 = min(fired.values())
        print(
            f"firing timeline: webhooks first sent +0.00..+{max(fired.values()) - t0:.2f}s,"
            f" messages posted +{min(first_post.values()) - t0:.2f}..+{max(first_post.values()) - t0:.2f}s"
        )
    print(
        f"groups with a message: {len(per_group)}/{args.groups}; top-level messages per group: max {max(per_group.values())}"
    )
    print(f"duplicates: {duplicates}")
    if os.environ.get("BENCH_DEBUG"):
        late = sorted((first_post[n] - at, n) for n, at in fired.items() if n in first_post)[-15:]
        print("latest groups (s, n):", [(round(d, 2), n) for d, n in late])
        t0 = min(fired.values())
        print("posts per second:", sorted(collections.Counter(int(v - t0) for v in first_post.values()).items()))
    print(
        f"webhook → chat.postMessage: p50 {pct(to_post, 0.5):.3f}s  p99 {pct(to_post, 0.99):.3f}s  ({len(to_post)} groups)"
    )
    print(
        f"resolving webhook → chat.update: p50 {pct(to_update, 0.5):.3f}s  p99 {pct(to_update, 0.99):.3f}s  ({len(to_update)} groups)"
    )
    print(
        f"busiest second in C0ALERTS: {max(per_second.values())} new messages (Slack allows about 1/s per channel, with bursts; a 429 pauses that channel for its Retry-After)"
    )
    am_slack = 2 * 2 * args.groups  # each HA peer notifies firing and resolved, one Slack message each
    print(
        f"Alertmanager's own Slack receiver, same notifications: {am_slack} messages ({am_slack // args.groups} per group), no updates"
    )
    one_each = duplicates == 0 and max(per_group.values()) == 1 and len(per_group) == args.groups
    if args.slack_rate:  # latency is Slack's pace here: the target is every message once, without a 429 storm
        ok = one_each
        print(f"target (rate-limited run): every group 1 message, 0 duplicates: {'PASS' if ok else 'FAIL'}")
    else:
        ok = one_each and pct(to_post, 0.99) < 1.0 and pct(to_update, 0.99) < 1.0
        print(f"target: 1 message per group, 0 duplicates, p99 < 1 s: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    asyncio.run(main())
