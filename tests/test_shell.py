"""End to end in the terminal: the real `ops-bot shell` subprocess, one command with -c or a
session read from standard input, against the same ops.yml, roles and audit as Slack."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from botproc import Completed, bot_env, run_bot
from conftest import base_config
from targets import HttpTarget, delayed, start_http_target

pytestmark = pytest.mark.timeout(60)

ADMIN = "U0ADMIN"
OPERATOR = "U0OPER"
NO_SLACK = "http://127.0.0.1:9/api/"  # the shell never talks to Slack

Shell = Callable[..., Any]


@pytest.fixture
async def api() -> AsyncIterator[HttpTarget]:
    target = await start_http_target({"/health": delayed(0)})
    yield target
    await target.close()


@pytest.fixture
def shell(tmp_path: Path, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str) -> Shell:
    """`await shell(args, stdin=None, **base_config_kwargs)` runs `ops-bot shell ARGS` to completion."""

    async def run(args: list[str], stdin: str | None = None, **config: Any) -> Completed:
        env = bot_env(write_config(base_config(**config)), NO_SLACK, bot_db_url, extra={"REDIS_PREFIX": redis_prefix})
        done = await run_bot(["shell", *args], env, cwd=tmp_path, stdin=stdin)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


def new_viewer() -> str:
    return "U0V" + secrets.token_hex(4).upper()


async def test_one_command_prints_the_contacts_table_and_exits_0(shell: Shell) -> None:
    done = await shell(["--as", ADMIN, "-c", "/ops contacts"])

    assert done.returncode == 0, done
    assert "== Contacts ==" in done.stdout
    assert re.search(r"^ROLE\s+NAME\s+SLACK\s+EMAIL\s+HOURS\s+NOW\s*$", done.stdout, re.M), done.stdout
    assert re.search(r"^tech_lead\s+Ana Rojas\s+U0TECHLEAD\s+ana@example.com\s+09:00-18:00", done.stdout, re.M)
    assert re.search(r"^devops\s+Marta Gil\s+U0DEVOPS\s.*on call", done.stdout, re.M), done.stdout


async def test_a_viewer_running_audit_is_refused_and_exits_1(shell: Shell) -> None:
    done = await shell(["--as", new_viewer(), "-c", "/ops audit 3"])

    assert done.returncode == 1, done
    assert "`/ops audit` needs the *admin* role; you have *viewer*. Nothing was run." in done.stdout
    assert "WHEN" not in done.stdout  # no audit table


async def test_an_unknown_command_suggests_the_close_one(shell: Shell) -> None:
    done = await shell(["--as", ADMIN, "-c", "/ops stauts"])

    assert done.returncode == 1
    assert "There is no command `stauts`. Did you mean `/ops status`" in done.stdout, done.stdout


async def test_an_interactive_session_reads_commands_until_exit(shell: Shell, api: HttpTarget) -> None:
    done = await shell(["--as", ADMIN], stdin="/ops status\nexit\n", api_url=api.url, project="no-such-project")

    assert done.returncode == 0, done
    assert f"ops-bot shell as {ADMIN} (admin)" in done.stdout
    assert "== Status of no-such-project ==" in done.stdout
    assert re.search(r"^\[ok\]\s+API /health: HTTP 200", done.stdout, re.M), done.stdout
    assert done.stdout.rstrip().endswith("Bye."), done.stdout


async def started_at(container: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "docker", "inspect", "-f", "{{.State.StartedAt}}", container,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    return out.decode().strip()


async def test_buttons_become_numbered_choices_read_from_stdin(shell: Shell, compose_project: str) -> None:
    """`/ops restart api` answers with a preview and Confirm/Cancel buttons; typing 2 runs the
    Cancel button's command, so the container is left alone."""
    container = f"{compose_project}-api-1"
    before = await started_at(container)

    done = await shell(["--as", OPERATOR, "-c", "/ops restart api"], stdin="2\n", project=compose_project)

    assert done.returncode == 0, done
    assert f"Container  {container}" in done.stdout, done.stdout
    assert re.findall(r"^\s*\[(\d)\] (\w+)$", done.stdout, re.M) == [("1", "Confirm"), ("2", "Cancel")], done.stdout
    assert "Choose a number" in done.stdout
    assert "`/ops restart api` was cancelled by U0OPER. Nothing was run." in done.stdout
    assert await started_at(container) == before, "the container was restarted"
