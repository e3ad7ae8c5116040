"""Alerts under a burst: N alert groups firing within one second at two `ops-bot serve`
replicas (half to each, and every webhook delivered again to the other replica, as an
Alertmanager HA pair does), then all resolving (the benchmark of issue 15).

    python bench/alerts.py [--groups 1000]
    python bench/alerts.py --storm [--groups 2000] [--storm-seconds 60]

`--storm` (issue 22): Slack's own pace, one chat.postMessage and one chat.update a second per
channel (the emulator answers 429 past it); `--groups` groups fire over `--storm-seconds`, then
one `severity: critical` group. Prints how long until the critical alert is visible (target
< 5 s) and until every firing group is findable in Slack, in its own message or listed in the
storm summary's thread (target < 60 s after the storm's last webhook), from the emulator's
recorded call times.

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
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
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


def webhook(n: int, status: str, severity: str = "warning", name: str = "") -> bytes:
    name = name or f"BenchAlert{n:05d}"
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "status": status,
            "receiver": "opsbot",
            "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "severity": severity},
            "commonAnnotations": {"summary": f"bench alert {n}"},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": name, "severity": severity, "instance": f"api-{n % 3}"},
                    "annotations": {"summary": f"bench alert {n}"},
                    "startsAt": "2026-12-02T06:00:00Z",
                    "fingerprint": f"fp{n}",
                }
            ],
        }
    ).encode()


async def send_all(
    session: aiohttp.ClientSession,
    urls: list[str],
    numbers: Iterable[int],
    status: str,
    severity: str = "warning",
    name: str = "",
    quiet: bool = False,
) -> dict[int, float]:
    """Every group's webhook to replica n % 2, then again to the other one; returns first send times."""
    sent: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    limit = asyncio.Semaphore(64)
    numbers = list(numbers)

    async def one(n: int, url: str, first: bool) -> int:
        async with limit:
            if first:
                sent[n] = time.time()
            body = webhook(n, status, severity, name)
            async with session.post(f"{url}/alerts/alertmanager", data=body, headers=headers) as r:
                await r.read()
                return r.status

    started = time.monotonic()
    statuses = await asyncio.gather(
        *(one(n, urls[n % 2], True) for n in numbers), *(one(n, urls[(n + 1) % 2], False) for n in numbers)
    )
    took = time.monotonic() - started
    bad = [s for s in statuses if s != 200]
    if not quiet or bad:
        print(
            f"{status}: {len(statuses)} webhooks ({len(numbers)} groups × 2 replicas) answered in {took:.2f}s;"
            f" non-200: {len(bad)}"
        )
    return sent


async def wait_caught_up(conn: asyncpg.Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await conn.fetchval("SELECT count(*) FROM alert_groups WHERE posted_version < version"):
            return
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_stack(limits: list[str]) -> AsyncIterator[tuple[aiohttp.ClientSession, list[str], str, str]]:
    """The emulator (with `limits`, METHOD=PER_SECOND/BURST) and two `ops-bot serve` replicas on a
    database of their own; yields a session, the replicas' URLs, the emulator's URL and the database's."""
    db = f"opsbot_alertbench_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{db}"')
    work = Path(tempfile.mkdtemp(prefix="alert-bench-"))
    (work / "ops.yml").write_text(CONFIG)
    procs: list[subprocess.Popen[Any]] = []
    try:
        emu_proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "slack_emulator.py"), "--port", "0"]
            + [arg for limit in limits for arg in ("--rate-limit", limit)],
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
            yield session, urls, emu["url"], f"{PG}/{db}"
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


async def recorded(session: aiohttp.ClientSession, emu_url: str) -> list[dict[str, Any]]:
    async with session.get(emu_url + "/_calls") as response:
        calls: list[dict[str, Any]] = await response.json()
    return calls


async def storm(groups: int, seconds: float) -> None:
    """Issue 22's storm: Slack's pace, `groups` groups over `seconds`, then one critical group."""
    async with running_stack(["chat.postMessage=1/1", "chat.update=1/1"]) as (session, urls, emu_url, _):
        wave = max(1, int(groups / max(seconds, 1.0)))
        started = time.monotonic()
        for first in range(0, groups, wave):
            await send_all(session, urls, range(first, min(groups, first + wave)), "firing", quiet=True)
            storm_end = time.time()  # the storm's last webhook answered (both replicas)
            await asyncio.sleep(max(0.0, started + (first + wave) / groups * seconds - time.monotonic()))
        print(f"storm: {groups} groups sent to both replicas over {time.monotonic() - started:.1f}s")
        critical = await send_all(session, urls, [groups], "firing", severity="critical", name="BenchCritical")
        names = [f"BenchAlert{n:05d}" for n in range(groups)]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            await asyncio.sleep(2.0)
            calls = [c for c in await recorded(session, emu_url) if not c.get("limited")]
            shown = [c for c in calls if c["method"] in ("chat.postMessage", "chat.update")]
            text = "\n".join(str(c["args"].get("text", "")) + json.dumps(c["args"].get("blocks") or []) for c in shown)
            if "BenchCritical" in text and all(name in text for name in names):
                break
        first_seen: dict[str, float] = {}
        for c in sorted(shown, key=lambda c: c["at"]):
            body = str(c["args"].get("text", "")) + json.dumps(c["args"].get("blocks") or [])
            for name in [*names, "BenchCritical"]:
                if name not in first_seen and name in body:
                    first_seen[name] = c["at"]
        limited = [c for c in await recorded(session, emu_url) if c.get("limited")]
    top_level = [c for c in shown if c["method"] == "chat.postMessage" and not c["args"].get("thread_ts")]
    print(f"Slack calls delivered: {len(shown)} ({len(top_level)} top-level messages), answered 429: {len(limited)}")
    visible = first_seen.get("BenchCritical", float("inf")) - critical[groups]
    missing = [n for n in names if n not in first_seen]
    findable = max((first_seen[n] for n in names if n in first_seen), default=float("inf")) - storm_end
    print(f"critical alert posted after the storm visible in {visible:.2f}s (target < 5 s)")
    print(
        f"every firing group findable in Slack {findable:.1f}s after the storm's last webhook (target < 60 s);"
        f" not findable: {len(missing)}"
    )
    ok = visible < 5.0 and findable < 60.0 and not missing
    print(f"target (storm): critical < 5 s, every group findable < 60 s: {'PASS' if ok else 'FAIL'}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=None)
    parser.add_argument(
        "--slack-rate",
        default="",
        metavar="PER_SECOND/BURST",
        help="the emulator answers chat.postMessage with 429 + Retry-After past this per-channel pace (Slack's is about 1/s with bursts)",
    )
    parser.add_argument("--storm", action="store_true", help="issue 22's storm at Slack's pace (see the docstring)")
    parser.add_argument("--storm-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.storm:
        await storm(args.groups or 2000, args.storm_seconds)
        return
    args.groups = args.groups or 1000
    limits = [f"chat.postMessage={args.slack_rate}"] if args.slack_rate else []
    async with running_stack(limits) as (session, urls, emu_url, db_url):
        conn = await asyncpg.connect(db_url)
        fired = await send_all(session, urls, range(args.groups), "firing")
        started = time.monotonic()
        await wait_caught_up(conn, 600)
        firing_drained = time.monotonic() - started
        resolved = await send_all(session, urls, range(args.groups), "resolved")
        started = time.monotonic()
        await wait_caught_up(conn, 600)
        resolved_drained = time.monotonic() - started
        await asyncio.sleep(1.0)
        calls = await recorded(session, emu_url)
        await conn.close()

    def group_of(call: dict[str, Any]) -> int | None:
        text = str(call["args"].get("text", "")) + json.dumps(call["args"].get("blocks") or [])
        marker = text.find("BenchAlert")
        return int(text[marker + 10 : marker + 15]) if marker >= 0 else None

    limited = [c for c in calls if c.get("limited")]
    calls = [c for c in calls if not c.get("limited")]
    posts = [c for c in calls if c["method"] == "chat.postMessage" and not c["args"].get("thread_ts")]
    per_group = collections.Counter(group_of(c) for c in posts if group_of(c) is not None)
    # past a backlog a channel's groups are listed in one storm summary's thread instead (issue 22)
    listings = [c for c in calls if c["args"].get("thread_ts") and "of the storm" in str(c["args"].get("text", ""))]
    listed = collections.Counter(
        int(n) for c in listings for n in re.findall(r"BenchAlert(\d{5})", json.dumps(c["args"]))
    )
    per_group.update(listed)
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
        f"groups with a message or listed in a storm summary's thread: {len(per_group)}/{args.groups}"
        f" ({len(listed)} listed in a storm); per group: max {max(per_group.values())}"
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
        print(f"target (rate-limited run): every group shown once, 0 duplicates: {'PASS' if ok else 'FAIL'}")
    else:  # the groups of a storm have no message of their own: p99 over those that have one
        ok = one_each and pct(to_post, 0.99) < 1.0 and pct(to_update, 0.99) < 1.0
        print(f"target: every group shown once, 0 duplicates, p99 < 1 s: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    asyncio.run(main())
