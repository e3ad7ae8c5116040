"""One destructive step per target at a time (bot/core/target_locks.py), on real parts.

Two `ops-bot serve` replicas and two admins confirming `restart api` and `stop api` at the same
moment: exactly one runs, the other is refused naming the holder. A `db migrate` running in
the api container when a `db restore` is approved: the restore is refused (its preview already
said so), the migration ends on its own. Live tails started after a confirmed step's click
never get it refused. And every destructive operation declares what it touches.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from botproc import BotLauncher, BotProcess
from confirm_flow import button_command, buttons, click
from conftest import REDIS_URL, RuntimeFactory, base_config
from e2e import answer, new_message_ts, slash
from e2e import click as click_in_slack
from private_redis import PrivateRedis
from slack_emulator import SlackEmulator
from targets import HttpTarget
from test_database import db_config, docker_state, health_api, own_db  # noqa: F401  (fixtures)
from test_replicas import executed

from bot.core.dispatcher import Invocation
from bot.core.lanes import Lanes
from bot.core.registry import REGISTRY
from bot.core.target_locks import TargetLocks
from bot.output.results import Result
from bot.procedures.backups import BackupStore

pytestmark = pytest.mark.timeout(150)
BUSYBOX = "opsbot/busybox:latest"


def test_every_destructive_operation_declares_what_it_touches() -> None:
    undeclared = [op.name for op in REGISTRY if op.destructive != "none" and not op.touches]
    assert undeclared == []
    assert REGISTRY.get("restart").touches == REGISTRY.get("stop").touches == ("service:{service}",)  # type: ignore[union-attr]
    assert {"database", "service:api"} <= set(REGISTRY.get("db restore").touches)  # type: ignore[union-attr]
    assert REGISTRY.get("db migrate").touches == ("database",)  # type: ignore[union-attr]


@pytest.fixture
def own_project(run_id: str) -> Iterator[str]:
    """An api container of this test's own, labelled as docker-compose labels one."""
    project = f"locks{run_id}{new_message_ts().replace('.', '')[-6:]}"
    name = f"{project}-api-1"
    subprocess.run(
        ["docker", "run", "-d", "--network", "none", "--name", name,
         "--label", f"com.docker.compose.project={project}", "--label", "com.docker.compose.service=api",
         BUSYBOX, "sh", "-c", "echo api up; sleep 3600"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        yield project
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def docker_events(container: str, since: str) -> list[str]:
    out = subprocess.run(
        ["docker", "events", "--since", since, "--until", "0s", "--filter", f"container={container}",
         "--format", "{{.Action}}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return [line for line in out.stdout.split() if line in ("kill", "die", "stop", "start", "restart")]


async def test_restart_and_stop_confirmed_at_once_by_two_admins_on_two_replicas_run_one(
    tmp_path: Path, fresh_db_url: str, redis_prefix: str, own_project: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(project=own_project), encoding="utf-8")
    container = f"{own_project}-api-1"
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        env = {"REDIS_PREFIX": f"{redis_prefix}locks:"}
        bots: list[BotProcess] = [
            await launcher.serve(config, emu.api_url, fresh_db_url, extra_env=env) for _ in range(2)
        ]
        restart = await answer(emu, await slash(bots[0], emu, "restart api", "U0ADMIN"), lambda t: "Confirm" in t)
        stop = await answer(emu, await slash(bots[1], emu, "stop api", "U0ADMIN2"), lambda t: "Confirm" in t)
        since = str(int(time.time()) - 1)

        clicks = await asyncio.gather(
            click_in_slack(bots[0], emu, restart.button("confirm"), "U0ADMIN", message_ts=new_message_ts()),
            click_in_slack(bots[1], emu, stop.button("confirm"), "U0ADMIN2", message_ts=new_message_ts()),
        )

        def final(text: str) -> bool:
            return "done" in text or "failed" in text or "refused" in text

        texts = [(await answer(emu, c, final, timeout=60)).text for c in clicks]
    ran = [t for t in texts if "✅ done" in t or "failed" in t]
    refused = [t for t in texts if "was refused and did not run" in t]
    assert len(ran) == 1 and len(refused) == 1, texts
    if "restart api" in refused[0]:
        assert "`/ops stop api` by U0ADMIN2 is running on service api" in refused[0], refused[0]
    else:
        assert "`/ops restart api` by U0ADMIN is running on service api" in refused[0], refused[0]
    assert await executed(fresh_db_url, "restart") + await executed(fresh_db_url, "stop") == 1
    events = await asyncio.to_thread(docker_events, container, since)
    assert not ("restart" in events and events.count("stop") > 1), events


@pytest.fixture
async def migrating_stack(
    make_runtime: RuntimeFactory,
    compose_project: str,
    own_db: str,  # noqa: F811
    tmp_path: Path,
    health_api: HttpTarget,  # noqa: F811
    redis_prefix: str,
) -> AsyncIterator[tuple[object, ...]]:
    backups = tmp_path / "backups"
    text = db_config(compose_project, own_db, backups, health_api.url).replace(
        'migrate: {service: api, run: "echo applying migrations to pedidos"}',
        "migrate: {service: api, run: \"sh -c 'echo migrating; sleep 6; echo migrated'\", timeout: 60s}",
    )
    assert "sleep 6" in text
    runtime = await make_runtime(text, redis_prefix=f"{redis_prefix}migrating:")
    yield runtime, backups, f"{compose_project}-api-1"


async def dispatch(runtime: object, text: str, user: str) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))  # type: ignore[attr-defined]


async def test_a_restore_approved_while_a_migration_runs_is_refused_and_the_migration_ends(
    migrating_stack: tuple[object, ...],
) -> None:
    runtime, backups, api = migrating_stack
    assert (await dispatch(runtime, "db backup", "U0OPER")).ok
    [backup] = BackupStore(str(backups), "America/Santiago").backups()
    api_before = docker_state(str(api))

    migrate_preview = await dispatch(runtime, "db migrate", "U0OPER")
    migration = asyncio.ensure_future(click(runtime, migrate_preview, "confirm", "U0OPER"))  # type: ignore[arg-type]
    await asyncio.sleep(2)
    assert not migration.done()

    restore_preview = await dispatch(runtime, f"db restore {backup.name}", "U0ADMIN")
    said = str(restore_preview.blocks)
    assert "`/ops db migrate` by U0OPER holds the stack's database" in said and "this step is refused" in said
    confirmed = await click(runtime, restore_preview, "confirm", "U0ADMIN")  # type: ignore[arg-type]
    approved = await click(runtime, confirmed, "approve", "U0ADMIN2")  # type: ignore[arg-type]
    assert not approved.ok
    assert "`/ops db migrate` by U0OPER is running on the stack's database" in approved.summary, approved.summary
    assert buttons(confirmed), "the Approve button stays: it works once the migration ended"

    migrated = await migration
    assert migrated.ok and "migrated" in str(migrated.blocks), migrated.summary
    assert docker_state(str(api)) == api_before, "the api was never stopped"

    again = await click(runtime, confirmed, "approve", "U0ADMIN2")  # type: ignore[arg-type]
    assert again.ok, again.summary


async def test_live_tails_started_after_a_confirmed_step_never_get_it_refused(
    make_runtime: RuntimeFactory, tmp_path: Path, redis_prefix: str, compose_project: str
) -> None:
    """The user's 4 long slots taken by tails started after the click: the confirmed migration runs."""
    from test_step_lifecycle import migrate_config

    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "touch migrated"), redis_prefix=f"{redis_prefix}tails:"
    )
    lanes = Lanes(long_per_user=4)
    preview = await dispatch(runtime, "db migrate", "U0OPER")
    gate = asyncio.Event()

    async def tail() -> None:
        from bot.core.lanes import declare_long

        declare_long("U0OPER")
        await gate.wait()

    clicked = asyncio.ensure_future(lanes.run(click(runtime, preview, "confirm", "U0OPER")))  # type: ignore[arg-type]
    tails = [asyncio.ensure_future(lanes.run(tail())) for _ in range(4)]
    await asyncio.sleep(0)  # the tails take the user's 4 long slots before the step's work begins
    done = await clicked
    gate.set()
    await asyncio.gather(*tails)
    assert done.ok, done.summary
    assert (tmp_path / "migrated").exists()


async def test_a_waiting_step_says_for_whom_it_waits_and_runs_once_the_target_is_free(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis, redis_prefix: str
) -> None:
    """`cache flush-tenant` waits (when_busy="wait"): held by another confirmation (another
    replica's step, as its lock records it), the preview says it will wait, the click's message
    says for what and whom, and the flush runs when the holder lets go, not before."""
    runtime = await make_runtime(base_config(target_redis=private_redis.url), redis_prefix=f"{redis_prefix}waits:")
    stack_redis.mset({f"tenant:t7:key:{n}": "v" for n in range(5)})
    locks = runtime.deps.confirmations.locks
    assert await locks.acquire(("tenant-cache:t7",), "otherstep0001", "/ops cache flush-tenant t7", "U0ADMIN2") is None

    preview = await dispatch(runtime, "cache flush-tenant t7", "U0OPER")
    assert "holds tenant t7's cache" in str(preview.blocks) and "this step waits" in str(preview.blocks)
    shown: list[str] = []

    async def update(result: Result) -> None:
        shown.append(str(result.blocks))

    clicked = asyncio.ensure_future(
        runtime.dispatcher.dispatch(
            Invocation(button_command(preview, "confirm"), "U0OPER", "C1", "button"), update=update
        )
    )
    deadline = time.monotonic() + 15
    while not any("waiting for `/ops cache flush-tenant t7` by U0ADMIN2" in s for s in shown):
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.1)
    assert not clicked.done() and stack_redis.keys("tenant:t7:*"), "it ran while the target was held"

    await locks.release(("tenant-cache:t7",), "otherstep0001")
    done = await asyncio.wait_for(clicked, 30)
    assert done.ok, done.summary
    assert stack_redis.keys("tenant:t7:*") == []


async def test_a_holder_that_stops_renewing_frees_its_targets_when_its_lease_ends(redis_prefix: str) -> None:
    """A replica killed mid-step renews nothing: its targets free themselves after the lease,
    while a live holder's renewals keep them taken past it; a release frees only its own."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        locks = TargetLocks(lambda: client, f"{redis_prefix}lease:", lease=1.0)
        targets = ("database", "service:api")
        assert await locks.acquire(targets, "killed", "/ops db restore x", "U0ADMIN") is None
        held = await locks.acquire(("database",), "second", "/ops db migrate", "U0OPER")
        assert held is not None and held.action == "killed" and held.person == "U0ADMIN"
        await asyncio.sleep(1.3)  # nobody renewed: the lease ran out
        assert await locks.acquire(("database",), "second", "/ops db migrate", "U0OPER") is None

        keeper = asyncio.ensure_future(locks.keep(("database",), "second"))
        await asyncio.sleep(1.6)  # past the lease, renewed every third of it
        still = await locks.acquire(("database",), "third", "/ops db restore y", "U0ADMIN2")
        assert still is not None and still.action == "second"
        await locks.release(("database",), "third")  # not its own: changes nothing
        assert [h.action for h in await locks.holders(("database",))] == ["second"]
        keeper.cancel()
        await locks.release(("database",), "second")
        assert await locks.holders(targets) == []
    finally:
        await client.aclose()
