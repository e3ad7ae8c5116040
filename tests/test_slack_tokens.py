"""`ops-bot serve` / `socket` without their Slack tokens refuse to start with one clear line,
instead of starting, failing every call to Slack and answering "ok" to health checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from private_redis import free_port

REPO = Path(__file__).resolve().parent.parent
TOKENS = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-tokenTestSecret",
    "SLACK_SIGNING_SECRET": "signing-secret-for-token-test",
    "SLACK_APP_TOKEN": "xapp-1-A0APP-3333-tokenTestSecret",
}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=30
    )


def _env(tmp_path: Path, **given: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_"))}
    config = tmp_path / "ops.yml"
    config.write_text("slack: {command: /ops}\n", encoding="utf-8")
    closed = f"http://127.0.0.1:{free_port()}"
    env.update({"PYTHONPATH": str(REPO), "OPS_CONFIG": str(config), "SLACK_API_URL": f"{closed}/api/"})
    env.update(given)
    return env


@pytest.mark.parametrize(
    ("mode", "given", "missing"),
    [
        (["serve", "--port", "0"], {}, "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
        (["serve", "--port", "0"], {"SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"]}, "SLACK_SIGNING_SECRET"),
        (["serve", "--port", "0"], {"SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"], "SLACK_BOT_TOKEN": ""},
         "SLACK_BOT_TOKEN"),
        (["socket"], {"SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"]}, "SLACK_APP_TOKEN"),
        (["socket"], {"SLACK_APP_TOKEN": TOKENS["SLACK_APP_TOKEN"]}, "SLACK_BOT_TOKEN"),
    ],
)  # fmt: skip
def test_serve_and_socket_without_their_tokens_refuse_to_start_in_one_line(
    tmp_path: Path, mode: list[str], given: dict[str, str], missing: str
) -> None:
    done = _run(mode, _env(tmp_path, **given), tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip() == f"ops-bot {mode[0]}: {missing} not set (see README, Connecting to Slack)"
    assert done.stdout == ""
    for secret in TOKENS.values():
        assert secret not in done.stderr


def test_check_config_needs_no_slack_token(tmp_path: Path) -> None:
    done = _run(["check-config"], _env(tmp_path), tmp_path)

    assert done.returncode == 0, done.stderr
