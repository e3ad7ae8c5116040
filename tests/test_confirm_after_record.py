"""A Confirm clicked after its record is gone (kept 24 h, or lost with the bot's Redis) says what
the audit log knows: the step already ran, with its outcome, who and when; it does not invite a
second run with "Nothing was run; send the command again"."""

from __future__ import annotations

from pathlib import Path

from confirm_flow import button_command, click
from conftest import RuntimeFactory
from test_step_lifecycle import migrate_config

from bot.core.dispatcher import Invocation


async def test_a_confirm_whose_record_is_gone_says_the_step_already_ran_with_its_outcome(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, redis_prefix: str
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "echo once >> runs"), redis_prefix=f"{redis_prefix}gone:"
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = button_command(preview, "confirm").split()[-1]
    assert (await click(runtime, preview, "confirm", "U0OPER")).ok
    await runtime.deps.redis.delete(runtime.deps.confirmations.key(action))  # its 24 h are over

    again = await click(runtime, preview, "confirm", "U0OPER")

    assert not again.ok
    assert "already ran: `/ops db migrate`, run by U0OPER at" in again.summary, again.summary
    assert "outcome *ok*" in again.summary
    assert "send the command again" not in again.summary and "Nothing was run" not in again.summary
    assert (tmp_path / "runs").read_text() == "once\n"


async def test_a_confirm_that_never_ran_and_expired_still_says_nothing_was_run(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, redis_prefix: str
) -> None:
    runtime = await make_runtime(
        migrate_config(compose_project, tmp_path, "echo once >> runs"), redis_prefix=f"{redis_prefix}gone2:"
    )
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    action = button_command(preview, "confirm").split()[-1]
    await runtime.deps.redis.delete(runtime.deps.confirmations.key(action))  # its 5 minutes are over

    late = await click(runtime, preview, "confirm", "U0OPER")

    assert not late.ok and "Nothing was run; send the command again" in late.summary, late.summary
    assert not (tmp_path / "runs").exists()
