"""A `permissions` key of ops.yml that names no command is refused, not silently ignored.

`"cache flush": admin` (no such command) or `"incident acknowledge": admin` (an alias, which
the role check never looks up) used to load fine and change nothing, so the command kept its
default role while ops.yml said otherwise. The real `ops-bot check-config` and `ops-bot
serve` now refuse them with the key, its own line and the nearest command names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botproc import bot_env, run_bot
from conftest import base_config

pytestmark = pytest.mark.timeout(90)

PERMISSIONS = """\
permissions:
  "db backup": admin
  "cache flush": admin
  "incident acknowledge": admin
"""


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "ops.yml"
    path.write_text(base_config(extra=PERMISSIONS), encoding="utf-8")
    return path


def _expected(path: Path) -> list[str]:
    text = path.read_text()
    flush, ack = _line_of(text, '"cache flush"'), _line_of(text, '"incident acknowledge"')
    return [
        f"permissions.cache flush (line {flush}): no command is called 'cache flush'; "
        "did you mean 'cache flush-all' or 'cache flush-tenant'",
        f"permissions.incident acknowledge (line {ack}): 'incident acknowledge' is another name of "
        "'incident ack'; did you mean 'incident ack'?",
    ]


async def test_check_config_refuses_permission_keys_that_name_no_command(
    bad_config: Path, tmp_path: Path, bot_db_url: str
) -> None:
    env = bot_env(bad_config, "http://127.0.0.1:9", bot_db_url)
    done = await run_bot(["check-config", str(bad_config)], env, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2 problems" in done.stderr and "db backup" not in done.stderr, done.stderr
    for line in _expected(bad_config):
        assert line in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


async def test_serve_refuses_to_start_on_them(bad_config: Path, tmp_path: Path, bot_db_url: str) -> None:
    env = bot_env(bad_config, "http://127.0.0.1:9", bot_db_url)
    done = await run_bot(["serve", "--host", "127.0.0.1", "--port", "0"], env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    for line in _expected(bad_config):
        assert line in done.stderr, done.stderr
    assert "listening on" not in done.stdout and "Traceback" not in done.stderr
