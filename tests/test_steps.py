"""The step runner on real programs: host processes (no shell), a busybox container, one
message edited in place at most once per interval, a failed step stops the rest, and every
line shown or attached is redacted."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RuntimeFactory, base_config

from bot.app.runtime import Runtime
from bot.core.context import OpContext
from bot.core.dispatcher import Invocation
from bot.output.results import Attachment, Code, Result, Text
from bot.procedures.steps import Procedure, Step, StepFailed, StepOutput, command_words, configured_step, run_host

PASSWORD = "s3cr3t-pw-42"


def everything(result: Result) -> str:
    """Every piece of text a result would show or attach."""
    parts = [result.title, result.summary]
    for block in result.blocks:
        if isinstance(block, Attachment):
            parts.append(block.content.decode())
        else:
            parts.append(repr(block))
    return "\n".join(parts)


def attachment(result: Result) -> str:
    found = [b for b in result.blocks if isinstance(b, Attachment)]
    assert found, f"no attachment in {result.title}"
    return found[0].content.decode()


class Updates:
    """Records every ctx.update as it arrives, with its time."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, Result]] = []

    async def __call__(self, result: Result) -> None:
        self.seen.append((time.monotonic(), result))


def context(runtime: Runtime, updates: Updates | None = None, source: str = "button") -> OpContext:
    """An OpContext straight from the dispatcher, without its final redaction gate: what bot/procedures/steps.py alone
    does.

    `button` is where confirmed procedures run: after the click that approved them.
    """
    return runtime.dispatcher.context(Invocation("test", "U0ADMIN", "C1", source), "admin", update=updates)


def steps_config(project: str, steps: str, dsn: str | None = None, extra: str = "", **kwargs: Any) -> str:
    """base_config with `stack.steps` (YAML lines indented for it) and optional other stack keys."""
    text = base_config(project=project, target_db=dsn, extra=extra, **kwargs)
    return text.replace("  docker:\n", f"  steps:\n{steps}  docker:\n", 1) if steps else text


def makefile(directory: Path, targets: dict[str, str]) -> Path:
    lines = [f".PHONY: {' '.join(targets)}"]
    for name, recipe in targets.items():
        lines.append(f"{name}:")
        lines.extend(f"\t{line}" for line in recipe.splitlines())
    (directory / "Makefile").write_text("\n".join(lines) + "\n")
    return directory


def test_an_argument_stays_one_word_whatever_it_contains() -> None:
    words = command_words("npx prisma migrate resolve --rolled-back {migration}", {"migration": "x; rm -rf / $(id)"})
    assert words == ["npx", "prisma", "migrate", "resolve", "--rolled-back", "x; rm -rf / $(id)"]
    assert command_words("tool --to={name} 'a b'", {"name": "v2"}) == ["tool", "--to=v2", "a b"]


@pytest.mark.parametrize("value", ["", "-rf", "--help"])
def test_a_value_that_would_become_an_option_is_refused(value: str) -> None:
    with pytest.raises(StepFailed) as caught:
        command_words("tool {name}", {"name": value})
    assert caught.value.key == "steps.bad_value"


def test_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(StepFailed) as caught:
        command_words("tool {other}", {"name": "x"})
    assert caught.value.key == "steps.unknown_placeholder"


async def test_host_program_gets_the_argument_literally_no_shell(tmp_path: Path) -> None:
    output = StepOutput(lambda s: s)
    argv = command_words("echo {value}", {"value": "a; touch pwned; echo $HOME `id`"})
    await run_host(argv, output, cwd=str(tmp_path), timeout=5)
    output.close()
    assert output.head == ["a; touch pwned; echo $HOME `id`"]
    assert not (tmp_path / "pwned").exists()


async def test_timeout_stops_the_program_and_what_it_started(tmp_path: Path) -> None:
    makefile(tmp_path, {"slow": "sleep 2\ntouch finished"})
    output = StepOutput(lambda s: s)
    started = time.monotonic()
    with pytest.raises(StepFailed) as caught:
        await run_host(["make", "-s", "slow"], output, cwd=str(tmp_path), timeout=0.3)
    assert caught.value.key == "steps.timeout"
    assert time.monotonic() - started < 2
    await asyncio.sleep(2.5)
    assert not (tmp_path / "finished").exists(), "make's child survived the timeout"


async def test_failed_step_stops_the_procedure_and_says_what_to_do(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, redis_prefix: str
) -> None:
    makefile(
        tmp_path, {"build": "@echo compiling\n@echo 'error: missing module' >&2\n@false", "deploy": "touch deployed"}
    )
    steps = f"    build: {{cwd: {tmp_path}, run: make build}}\n    deploy: {{cwd: {tmp_path}, run: make deploy}}\n"
    runtime = await make_runtime(steps_config(compose_project, steps), redis_prefix=redis_prefix)
    ctx = context(runtime)
    procedure = Procedure(
        ctx,
        "Build and deploy",
        [configured_step(ctx, "build", hint="fix the build"), configured_step(ctx, "deploy", hint="redeploy")],
        filename="out.log",
        interval=0.05,
    )
    assert not await procedure.run()
    result = procedure.result()
    assert not result.ok
    assert [s.state for s in procedure.steps] == ["failed", "skipped"]
    assert not (tmp_path / "deployed").exists()
    lines = result.blocks[0]
    assert isinstance(lines, Text) and "FAILED" in lines.text and "not run" in lines.text
    assert "Stopped at step 1 of 2" in result.summary
    assert any(isinstance(b, Text) and "What to do next: fix the build" in b.text for b in result.blocks)
    tail = [b for b in result.blocks if isinstance(b, Code)]
    assert tail and "error: missing module" in tail[0].text
    assert "compiling" in attachment(result)


async def test_container_step_runs_in_the_service_container_with_its_exit_code(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    steps = (
        '    migrate: {service: api, run: "echo applied {migration} in $HOSTNAME"}\n'
        '    migrate_rollback: {service: redis, run: "ls /nonexistent-dir"}\n'
    )
    runtime = await make_runtime(steps_config(compose_project, steps), redis_prefix=redis_prefix)
    ctx = context(runtime)
    ok = Procedure(
        ctx, "t", [configured_step(ctx, "migrate", values={"migration": "20251107_add_orders"})], filename="a"
    )
    assert await ok.run()
    assert "applied 20251107_add_orders in $HOSTNAME" in attachment(ok.result())  # argv, no shell expansion
    failing = Procedure(ctx, "t", [configured_step(ctx, "migrate_rollback")], filename="b")
    assert not await failing.run()
    assert failing.steps[0].detail == "exit code 1"
    assert "nonexistent-dir" in attachment(failing.result())


async def test_progress_is_one_message_edited_at_most_once_per_interval(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    runtime = await make_runtime(steps_config(compose_project, ""), redis_prefix=redis_prefix)
    updates = Updates()
    ctx = context(runtime, updates)

    def slow(lines: int) -> Any:
        async def action(output: StepOutput) -> str | None:
            for n in range(lines):
                output.feed(f"line {n}\n".encode())
                await asyncio.sleep(0.02)
            return None

        return action

    interval = 0.2
    procedure = Procedure(
        ctx, "Three steps", [Step(f"step {n}", slow(15)) for n in range(3)], filename="p.log", interval=interval
    )
    started = time.monotonic()
    assert await procedure.run()
    took = time.monotonic() - started
    times = [at for at, _ in updates.seen]
    assert len(times) >= 3
    assert all(later - earlier >= interval * 0.9 for earlier, later in itertools.pairwise(times))
    assert len(times) <= took / interval + 2
    assert all(r.replace_original and r.title == "Three steps" for _, r in updates.seen)
    shown = "\n".join(b.text for _, r in updates.seen for b in r.blocks if isinstance(b, Text))
    assert "running for" in shown and "waiting" in shown and "done in" in shown
    final = procedure.result()
    assert "All 3 steps done" in final.summary
    assert attachment(final).count("line 14") == 3


async def test_step_output_with_the_dsn_password_is_redacted_in_every_update_and_the_file(
    make_runtime: RuntimeFactory, compose_project: str, target_db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    dsn = target_db_url.replace("postgres@", f"postgres:{PASSWORD}@")
    steps = (
        f'    build: {{cwd: {tmp_path}, run: "echo connecting to {dsn}"}}\n'
        f'    deploy: {{service: api, run: "echo password={PASSWORD}"}}\n'
    )
    runtime = await make_runtime(steps_config(compose_project, steps, dsn=dsn), redis_prefix=redis_prefix)
    updates = Updates()
    ctx = context(runtime, updates)
    procedure = Procedure(
        ctx, "Leaky steps", [configured_step(ctx, "build"), configured_step(ctx, "deploy")], filename="x", interval=0.05
    )
    assert await procedure.run()
    final = procedure.result()
    shown = [everything(r) for _, r in updates.seen] + [everything(final)]
    assert all(PASSWORD not in text for text in shown)
    assert "password=••••" in attachment(final)
    assert "postgres:••••@" in attachment(final)


async def test_a_typed_slack_command_gets_the_live_view_too(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    """The Slack adapter edits the first progress message of a typed command in place
    (tests/test_slack_updates.py), so typed procedures show their steps live as clicks do."""
    runtime = await make_runtime(steps_config(compose_project, ""), redis_prefix=redis_prefix)
    updates = Updates()

    async def pause(output: StepOutput) -> str | None:
        await asyncio.sleep(0.3)
        return None

    procedure = Procedure(
        context(runtime, updates, source="slack"), "t", [Step("a", pause)], filename="f", interval=0.05
    )
    assert await procedure.run()
    assert updates.seen, "a typed command sees its steps move"
