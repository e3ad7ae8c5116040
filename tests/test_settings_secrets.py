"""Docker secrets: a setting read from /run/secrets/<name> (OPS_SECRETS_DIR here), as
deploy/compose.yml's `secrets:` or a Swarm's provide it, and not hidden by an empty variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRINT = "from bot.config.settings import Settings; s = Settings(); print(s.slack_bot_token.get_secret_value())"


def token_seen(secrets: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_"))}
    done = subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=secrets,  # no .env there
        env={**base, "PYTHONPATH": str(REPO), "OPS_SECRETS_DIR": str(secrets), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_docker_secret_file_sets_the_token(tmp_path: Path) -> None:
    (tmp_path / "slack_bot_token").write_text("xoxb-from-a-docker-secret\n", encoding="utf-8")
    assert token_seen(tmp_path) == "xoxb-from-a-docker-secret"


def test_an_empty_variable_does_not_hide_the_secret(tmp_path: Path) -> None:
    (tmp_path / "slack_bot_token").write_text("xoxb-from-a-docker-secret", encoding="utf-8")
    assert token_seen(tmp_path, SLACK_BOT_TOKEN="") == "xoxb-from-a-docker-secret"


def test_a_set_variable_still_wins(tmp_path: Path) -> None:
    (tmp_path / "slack_bot_token").write_text("xoxb-from-a-docker-secret", encoding="utf-8")
    assert token_seen(tmp_path, SLACK_BOT_TOKEN="xoxb-from-the-environment") == "xoxb-from-the-environment"
