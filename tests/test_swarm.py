"""Every container command on a real single-node Swarm (`stack.docker.mode: swarm`).

The stack runs on a private dockerd (tests/private_dockerd.py), deployed with `docker stack
deploy` from a compose file: its services carry `com.docker.stack.namespace` and no compose
label at all, so a command that fell back to compose labels would find nothing (one test
shows exactly that). Each test reads the engine itself (the CLI against the private socket)
to check what the bot says.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botproc import BotLauncher, shown
from confirm_flow import click, run_confirmed
from conftest import RuntimeFactory, base_config
from e2e import answer, audit_rows, messages_for, new_message_ts, new_user, slash
from e2e import click as click_in_slack
from private_dockerd import wait_for_replicas
from slack_emulator import SlackEmulator
from swarm_stack import TOKEN, SwarmStack
from test_steps import context
from test_verify_containers import executed_row, verification_of

from bot.config.ops_yml import DockerConfig
from bot.core.dispatcher import Invocation
from bot.output.results import Attachment, Code, Result, Table
from bot.output.terminal import render_text
from bot.procedures.steps import StepOutput, run_in_container
from bot.targets.swarm import REMEMBER_LABEL, SwarmTarget, _stamp_key
from bot.terminal.shell import Shell
from handlers.procedures import service_step


def table_of(result: Result) -> Table:
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    return table


def code_text(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Code))


# ---- reading: ps, logs ------------------------------------------------------------------------


async def test_ps_lists_every_task_with_its_node_and_state(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    runtime = await make_runtime(swarm_stack.config())
    result = await runtime.dispatcher.dispatch(Invocation("ps api", "U0VIEW", "C1", "slack"))
    table = table_of(result)
    assert table.columns[:4] == ["SERVICE", "TASK", "NODE", "STATE"]
    hostname = swarm_stack.engine.docker("info", "--format", "{{.Name}}").stdout.strip()
    assert sorted(row[1] for row in table.rows) == ["api.1", "api.2", "api.3"]
    assert {row[2] for row in table.rows} == {hostname}
    assert all(row[3] == "running" for row in table.rows)
    assert result.ok


async def test_compose_mode_finds_nothing_in_a_swarm_stack(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    """The stack's containers have no compose label: the compose backend (what a silent fallback
    would use) sees nothing on the same engine, so the swarm tests cannot pass through it."""
    (task,) = swarm_stack.tasks("worker")
    container = task["Status"]["ContainerStatus"]["ContainerID"]
    labels = json.loads(swarm_stack.engine.docker("inspect", "--format", "{{json .Config.Labels}}", container).stdout)
    assert labels["com.docker.stack.namespace"] == swarm_stack.name
    assert not [k for k in labels if k.startswith("com.docker.compose")]
    runtime = await make_runtime(swarm_stack.config(mode="compose"))
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    assert not result.ok and "No containers found" in render_text(result).text


async def test_logs_come_from_every_task_each_line_named(make_runtime: RuntimeFactory, swarm_stack: SwarmStack) -> None:
    runtime = await make_runtime(swarm_stack.config())
    result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 12", "U0VIEW", "C1", "slack"))
    lines = code_text(result).splitlines()
    assert len(lines) == 12
    named = {line.split("[", 1)[1].split("]", 1)[0] for line in lines}
    assert len(named) >= 2 and named <= {"api.1", "api.2", "api.3"}, lines
    assert all("api line" in line for line in lines)


async def test_logs_are_redacted(make_runtime: RuntimeFactory, swarm_stack: SwarmStack) -> None:
    runtime = await make_runtime(swarm_stack.config())
    result = await runtime.dispatcher.dispatch(Invocation("logs worker --tail 5", "U0VIEW", "C1", "slack"))
    text = render_text(result).text
    assert "work from" in text and "token" in text
    assert TOKEN not in text


# ---- restart: rolling, verified by the tasks' spec and health ------------------------------------


async def test_rolling_restart_is_verified_when_every_task_runs_the_new_spec(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    before_mark = swarm_stack.force_mark("api")
    before_tasks = {t["ID"] for t in swarm_stack.tasks("api")}
    runtime = await make_runtime(swarm_stack.config())
    preview = await runtime.dispatcher.dispatch(Invocation("restart api", "U0OPER", "C1", "slack"))
    assert "rolling" in render_text(preview).text and "api.3" in render_text(preview).text
    assert swarm_stack.force_mark("api") == before_mark, "the preview changed nothing"
    started = time.monotonic()
    result = await click(runtime, preview, "confirm", "U0OPER")
    took = time.monotonic() - started
    found = verification_of(result)
    assert found.verified and result.ok, found
    assert swarm_stack.force_mark("api") == before_mark + 1
    after = swarm_stack.tasks("api")
    assert len(after) == 3 and not before_tasks & {t["ID"] for t in after}, "every task was replaced"
    assert all(t["Spec"]["ForceUpdate"] == before_mark + 1 and t["Status"]["State"] == "running" for t in after)
    outcome, recorded = await executed_row(runtime, "restart")
    assert outcome == "ok" and recorded is not None and recorded["verified"] is True
    update = swarm_stack.service("api")["UpdateStatus"]
    assert update["State"] == "completed"
    swarm_took = _seconds(update["CompletedAt"]) - _seconds(update["StartedAt"])
    print(
        f"\nrolling restart of 3 tasks: {took:.2f} s from the click to the verified answer; Swarm's update "
        f"{swarm_took:.2f} s (StartedAt→CompletedAt); the bot's share {took - swarm_took:.2f} s"
    )


def _seconds(stamp: str) -> float:
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp() + float("0." + (frac or "0"))


async def test_rolling_restart_failing_its_health_check_is_not_verified(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    (swarm_stack.flags / "broken").write_text("new tasks fail their health check\n")
    try:
        runtime = await make_runtime(swarm_stack.config())
        result = await run_confirmed(runtime, "restart flaky", "U0OPER")
        found = verification_of(result)
        assert not found.verified and not result.ok, found
        (failed,) = found.checks
        assert failed.state == "fail" and "Swarm stopped the update (paused)" in failed.detail, failed
        assert "❌ not verified" in render_text(result).text
        outcome, recorded = await executed_row(runtime, "restart")
        assert outcome == "failed" and recorded is not None and recorded["verified"] is False
    finally:
        (swarm_stack.flags / "broken").unlink()
        swarm_stack.engine.docker("service", "update", "--detach", "--force", f"{swarm_stack.name}_flaky")


async def test_one_confirmation_clicked_on_two_bot_replicas_restarts_once(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    first = await make_runtime(swarm_stack.config())
    second = await make_runtime(swarm_stack.config())
    before = swarm_stack.force_mark("worker")
    preview = await first.dispatcher.dispatch(Invocation("restart worker", "U0OPER", "C1", "slack"))
    results = await asyncio.gather(
        click(first, preview, "confirm", "U0OPER"), click(second, preview, "confirm", "U0OPER")
    )
    assert sum(1 for r in results if r.verification is not None) == 1, [render_text(r).text for r in results]
    assert swarm_stack.force_mark("worker") == before + 1


# ---- stop / start / scale --------------------------------------------------------------------------


async def test_stop_scales_to_zero_and_start_on_another_bot_brings_back_the_replicas(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    swarm_stack.engine.docker("service", "scale", "--detach", f"{swarm_stack.name}_worker=2")
    wait_for_replicas(swarm_stack.engine, swarm_stack.name)
    runtime = await make_runtime(swarm_stack.config())
    stopped = await run_confirmed(runtime, "stop worker", "U0OPER")
    assert verification_of(stopped).verified, verification_of(stopped)
    assert swarm_stack.replicas("worker") == 0 and swarm_stack.tasks("worker") == []
    assert swarm_stack.service("worker")["Spec"]["Labels"][REMEMBER_LABEL] == "2"
    other = await make_runtime(swarm_stack.config())  # another bot replica: the memory is on the service
    started = await other.dispatcher.dispatch(Invocation("start worker", "U0OPER", "C1", "slack"))
    assert verification_of(started).verified and started.ok, verification_of(started)
    assert swarm_stack.replicas("worker") == 2 and len(swarm_stack.tasks("worker")) == 2
    assert REMEMBER_LABEL not in swarm_stack.service("worker")["Spec"]["Labels"]
    again = await other.dispatcher.dispatch(Invocation("start worker", "U0OPER", "C1", "slack"))
    assert "already has 2 replicas" in render_text(again).text
    swarm_stack.engine.docker("service", "scale", "--detach", f"{swarm_stack.name}_worker=1")


async def test_up_brings_back_a_stopped_service(make_runtime: RuntimeFactory, swarm_stack: SwarmStack) -> None:
    runtime = await make_runtime(swarm_stack.config())
    await run_confirmed(runtime, "stop worker", "U0OPER")
    assert swarm_stack.replicas("worker") == 0
    again = await runtime.dispatcher.dispatch(Invocation("stop worker", "U0OPER", "C1", "slack"))
    assert not again.ok and "already has 0 replicas: nothing to stop" in render_text(again).text
    result = await runtime.dispatcher.dispatch(Invocation("up", "U0OPER", "C1", "slack"))
    assert verification_of(result).verified, verification_of(result)
    assert swarm_stack.replicas("worker") == 1
    assert "api: 3 replicas, left as they are" in render_text(result).text


async def test_scale_previews_the_change_then_scales_verified(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    runtime = await make_runtime(swarm_stack.config())
    preview = await runtime.dispatcher.dispatch(Invocation("scale worker 3", "U0OPER", "C1", "slack"))
    assert "Will scale worker from 1 to 3 replicas." in render_text(preview).text
    assert swarm_stack.replicas("worker") == 1, "the preview changed nothing"
    result = await click(runtime, preview, "confirm", "U0OPER")
    assert verification_of(result).verified and result.ok, verification_of(result)
    assert swarm_stack.replicas("worker") == 3 and len(swarm_stack.tasks("worker")) == 3
    outcome, recorded = await executed_row(runtime, "scale")
    assert outcome == "ok" and recorded is not None and recorded["verified"] is True
    back = await run_confirmed(runtime, "scale worker 1", "U0OPER")
    assert back.ok and swarm_stack.replicas("worker") == 1
    same = await runtime.dispatcher.dispatch(Invocation("scale worker 1", "U0OPER", "C1", "slack"))
    assert not same.ok and "already has 1 replica: scaling to 1 changes nothing" in render_text(same).text
    assert "Confirm" not in render_text(same).text, "a no-op parks no confirmation"
    for bad in ("scale worker 1000", "scale worker -1", "scale worker two", "scale nginx 2"):
        refused = await runtime.dispatcher.dispatch(Invocation(bad, "U0OPER", "C1", "slack"))
        assert not refused.ok and "Traceback" not in render_text(refused).text, bad
    assert swarm_stack.replicas("worker") == 1


async def test_scale_needs_the_operator_role(make_runtime: RuntimeFactory, swarm_stack: SwarmStack) -> None:
    runtime = await make_runtime(swarm_stack.config())
    result = await runtime.dispatcher.dispatch(Invocation("scale worker 2", "U0VIEW", "C1", "slack"))
    assert not result.ok and "operator" in render_text(result).text
    assert swarm_stack.replicas("worker") == 1


async def test_scale_on_a_compose_stack_is_refused_clearly(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("scale api 2", "U0OPER", "C1", "slack"))
    text = render_text(result).text
    assert not result.ok and "`scale` needs a Swarm stack" in text and "Nothing was changed" in text
    assert "confirm" not in text.lower()


# ---- live tail and steps ---------------------------------------------------------------------


async def test_live_tail_follows_the_task_that_replaces_a_killed_one(swarm_stack: SwarmStack) -> None:
    target = SwarmTarget(_docker_config(swarm_stack))
    try:
        (task,) = swarm_stack.tasks("worker")
        killed = task["Status"]["ContainerStatus"]["ContainerID"]
        name = f"[worker.{task['Slot']}] "  # the slot's name stays; its replacement has another container
        hosts: list[str] = []
        async with asyncio.timeout(30), contextlib.aclosing(target.follow_logs("worker")) as lines:
            async for line in lines:
                assert line.startswith("[worker."), line  # every line names its task
                if not line.startswith(name):
                    continue  # a task an earlier scale-down is still stopping
                host = line.split("work from ", 1)[1].split()[0]
                if host not in hosts:
                    hosts.append(host)
                    if len(hosts) == 1:
                        swarm_stack.engine.docker("kill", killed)
                if len(hosts) == 2:
                    break
        assert hosts[0] == killed[:12] and hosts[1] != killed[:12]
    finally:
        await target.close()


def _docker_config(stack: SwarmStack) -> DockerConfig:
    return DockerConfig(url=stack.engine.url, mode="swarm", compose_project=stack.name, services=["api", "worker"])


async def test_a_step_runs_in_a_running_task_of_the_service(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    runtime = await make_runtime(swarm_stack.config())
    output = StepOutput(lambda s: s)
    await run_in_container(context(runtime), "api", ["sh", "-c", "echo ran in $(hostname)"], output, timeout=10)
    output.close()
    (line,) = output.head
    running = {t["Status"]["ContainerStatus"]["ContainerID"][:12] for t in swarm_stack.tasks("api")}
    assert line.startswith("ran in ") and line.removeprefix("ran in ") in running


async def test_live_tail_command_keeps_following_when_a_task_is_killed(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack, redis_prefix: str
) -> None:
    """`/ops logs worker --follow`: the task's container is killed mid-tail; Swarm starts a new
    task and the same tail carries on with its lines, redacted, until its time is up."""
    runtime = await make_runtime(swarm_stack.config(), redis_prefix=f"{redis_prefix}swarmtail:")
    (task,) = swarm_stack.tasks("worker")
    killed = task["Status"]["ContainerStatus"]["ContainerID"]
    out = io.StringIO()
    tail = asyncio.create_task(Shell(runtime, "U0OPER", out=out).run_one("/ops logs worker --follow 10s"))
    await asyncio.sleep(2)
    await asyncio.to_thread(swarm_stack.engine.docker, "kill", killed)
    result = await asyncio.wait_for(tail, 30)
    printed = out.getvalue()
    hosts = set(re.findall(r"work from ([0-9a-f]{12})", printed))
    assert killed[:12] in hosts and len(hosts) >= 2, hosts
    assert "its time was up" in (result.summary or ""), result.summary
    assert f"[worker.{task['Slot']}]" in printed
    assert TOKEN not in printed


# ---- drain on SIGTERM: a real `ops-bot serve` mid rolling restart ------------------------------


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


@pytest.mark.timeout(150)
async def test_sigterm_mid_rolling_restart_drains_until_it_is_verified(
    launcher: BotLauncher, emu: SlackEmulator, tmp_path: Path, bot_db_url: str, redis_prefix: str,
    swarm_stack: SwarmStack,
) -> None:  # fmt: skip
    operator = new_user("U0OP")
    path = tmp_path / "ops.yml"
    path.write_text(swarm_stack.config().replace("operator: ['U0OPER']", f"operator: ['{operator}']"))
    env = {"REDIS_PREFIX": f"{redis_prefix}swarmdrain:", "SHUTDOWN_GRACE_SECONDS": "90"}
    bot = await launcher.serve(path, emu.api_url, bot_db_url, extra_env=env)
    before = swarm_stack.force_mark("api")
    sent = await slash(bot, emu, "restart api", operator)
    preview = await answer(emu, sent, lambda text: "Confirm" in text and "rolling" in text, timeout=30)
    clicked = await click_in_slack(bot, emu, preview.button("confirm"), operator, message_ts=new_message_ts())
    deadline = time.monotonic() + 30
    while swarm_stack.service("api").get("UpdateStatus", {}).get("State") != "updating":
        assert time.monotonic() < deadline, "the rolling restart never started"
        await asyncio.sleep(0.2)
    bot.proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(bot.proc.wait(), 120)
    assert code == 0, bot.output()
    assert swarm_stack.service("api")["UpdateStatus"]["State"] == "completed"
    assert all(t["Spec"]["ForceUpdate"] == before + 1 for t in swarm_stack.tasks("api"))
    rows = [r for r in await audit_rows(bot_db_url, operator) if r["decision"] == "executed"]
    assert [(r["operation"], r["outcome"]) for r in rows] == [("restart", "ok")], rows
    assert "verified" in shown(messages_for(emu, clicked)[-1])


async def test_the_restore_procedures_stop_and_start_steps_scale_the_service(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    """`db restore` stops and starts the api with `service_step`: on Swarm a scale to 0 and back."""
    runtime = await make_runtime(swarm_stack.config())
    ctx = context(runtime)
    stopped = StepOutput(lambda s: s)
    await service_step(ctx, "worker", "stop").action(stopped)
    assert swarm_stack.replicas("worker") == 0 and swarm_stack.tasks("worker") == []
    started = StepOutput(lambda s: s)
    await service_step(ctx, "worker", "start").action(started)
    assert swarm_stack.replicas("worker") == 1 and len(swarm_stack.tasks("worker")) == 1
    started.close()
    assert any("worker scaled to 1 replica." in line for line in started.head), started.head


def test_service_log_lines_merge_by_time_whatever_the_length_of_their_fraction() -> None:
    """The engine drops a fraction's trailing zeros: `54.0771887Z` is earlier than `54.07718873Z`
    although it sorts after it as text."""
    stamps = ["2026-12-06T21:42:54.0771887Z", "2026-12-06T21:42:54.07718873Z", "2026-12-06T21:42:54Z"]
    assert sorted(stamps, key=_stamp_key) == [stamps[2], stamps[0], stamps[1]]


async def test_long_service_logs_are_bounded_like_a_container_s(
    make_runtime: RuntimeFactory, swarm_stack: SwarmStack
) -> None:
    """The merged log of three tasks goes through the same bounds: 40 lines inline, the rest in a file."""
    runtime = await make_runtime(swarm_stack.config())
    deadline = time.monotonic() + 30
    while True:  # a freshly deployed stack may not have written 60 lines yet (about 10 a second)
        result = await runtime.dispatcher.dispatch(Invocation("logs api --tail 60", "U0VIEW", "C1", "slack"))
        files = [b.content.decode() for b in result.blocks if isinstance(b, Attachment)]
        if (files and files[0].count("\n") == 60) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    (whole,) = files
    assert whole.count("\n") == 60 and len({line.split("[", 1)[1].split("]")[0] for line in whole.splitlines()}) == 3
    assert len(code_text(result).splitlines()) == 40
