"""The answers to a button are in `/ops help`, and the approve hint names the command that opens
a second terminal where the shell runs (issue 24, item 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botproc import bot_env, run_bot
from conftest import RuntimeFactory, base_config
from private_redis import PrivateRedis
from test_shell_pty import NO_SLACK

from bot.core.dispatcher import Invocation
from bot.output.terminal import render_text


async def test_help_lists_the_answers_to_a_button(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    shown = render_text(await runtime.dispatcher.dispatch(Invocation("help", "U0OPER", "C1", "slack"))).text
    answers = shown[shown.index("Answers to a button") :]
    for usage in ("/ops confirm <id>", "/ops cancel <id>", "/ops approve <id>", "/ops logs stop <id>"):
        assert usage in answers, shown
    viewer = render_text(await runtime.dispatcher.dispatch(Invocation("help", "U0VIEW", "C1", "slack"))).text
    assert "/ops logs stop <id>" not in viewer, "an operator's answer is not offered to a viewer"


async def hint(
    tmp_path: Path, write_config: Any, bot_db_url: str, redis_prefix: str, redis: PrivateRedis, **env: str
) -> str:
    config = write_config(base_config(target_redis=redis.url))
    extra = {"REDIS_PREFIX": redis_prefix, **env}
    done = await run_bot(
        ["shell", "--as", "U0ADMIN", "-c", "/ops cache flush-all"],
        bot_env(config, NO_SLACK, bot_db_url, extra=extra),
        cwd=tmp_path,
        stdin="1\n\n",
    )
    line = next((x for x in done.stdout.splitlines() if "A second admin approves it" in x), "")
    assert line, done.stdout + done.stderr
    return line


async def test_the_approve_hint_names_the_command_that_opens_a_terminal_here(
    tmp_path: Path, write_config: Any, bot_db_url: str, redis_prefix: str, private_redis: PrivateRedis
) -> None:
    plain = await hint(tmp_path, write_config, bot_db_url, redis_prefix, private_redis)
    assert "(`ops-bot shell --as U…`)" in plain, plain
    demo = await hint(
        tmp_path, write_config, bot_db_url, redis_prefix, private_redis, OPS_SHELL_JOIN="bash scripts/demo.sh --as"
    )
    assert "(`bash scripts/demo.sh --as U…`)" in demo, demo
