"""`check-config` refuses a role for `/ops scale` on a compose stack: there the command can only refuse.

`/ops scale` sets a Swarm service's replicas. On compose it answers that it needs Swarm
(tests/test_swarm.py); a `permissions.scale` key in an ops.yml whose stack is compose says
someone expects it to work, so the real `ops-bot check-config` names that key and its line.
The same key on a Swarm stack is accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botproc import bot_env, run_bot
from conftest import base_config

from bot.config.ops_yml import ConfigError, parse_config

pytestmark = pytest.mark.timeout(90)

SCALE_ROLE = """\
permissions:
  scale: admin
"""


def _swarm(text: str) -> str:
    return text.replace(
        "    url: unix:///var/run/docker.sock\n", "    url: unix:///var/run/docker.sock\n    mode: swarm\n"
    )


async def test_check_config_refuses_scale_permissions_on_compose(tmp_path: Path, bot_db_url: str) -> None:
    path = tmp_path / "ops.yml"
    text = base_config(extra=SCALE_ROLE)
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip() == "scale: admin")
    done = await run_bot(["check-config", str(path)], bot_env(path, "http://127.0.0.1:9", bot_db_url), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"permissions.scale (line {line}): `/ops scale` needs `stack.docker.mode: swarm`" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_same_key_on_a_swarm_stack_is_accepted() -> None:
    config = parse_config(_swarm(base_config(extra=SCALE_ROLE)), env={})
    assert config.stack.docker is not None and config.stack.docker.mode == "swarm"
    assert config.permissions["scale"] == "admin"


def test_a_compose_stack_without_the_key_is_accepted() -> None:
    parse_config(base_config(), env={})
    with pytest.raises(ConfigError):
        parse_config(base_config(extra=SCALE_ROLE), env={})
