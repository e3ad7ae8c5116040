"""The process environment of running.md, read once at start-up (a `.env` file works too)."""

from __future__ import annotations

import os

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _secrets_dir() -> str | None:
    """Docker secrets (`/run/secrets/<variable in lower case>`, e.g. `slack_bot_token`), read when
    the directory exists: a Swarm or compose `secrets:` entry instead of an environment variable.
    OPS_SECRETS_DIR names another directory."""
    path = os.environ.get("OPS_SECRETS_DIR", "/run/secrets")
    return path if os.path.isdir(path) else None


class Settings(BaseSettings):
    # env_ignore_empty: a variable set but empty (compose's `${SLACK_BOT_TOKEN:-}`) does not hide
    # the same setting's Docker secret; empty and unset meant the same to the bot already.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", secrets_dir=_secrets_dir(), env_ignore_empty=True
    )

    ops_config: str = "./ops.yml"
    database_url: SecretStr = SecretStr("postgresql://localhost/opsbot")
    redis_url: SecretStr = SecretStr("redis://localhost:6379/0")
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    redis_prefix: str = "opsbot:"
    log_level: str = "INFO"
    shutdown_grace_seconds: float = 25.0
    """On SIGTERM, how long running confirmed steps may take to end before they are stopped."""
    step_lease_seconds: float = 30.0
    """How long a running step's owner is trusted without renewing; then another replica reports it interrupted."""

    def missing_for(self, mode: str) -> str | None:
        """The line to refuse `serve` (HTTP) or `socket` with when their Slack variables are unset:
        without them the bot would start, fail every call to Slack and still look healthy."""
        needed = {
            "serve": ("slack_bot_token", "slack_signing_secret"),
            "socket": ("slack_bot_token", "slack_app_token"),
        }
        values: dict[str, SecretStr | None] = {name: getattr(self, name) for name in needed.get(mode, ())}
        missing = [name.upper() for name, value in values.items() if value is None or not value.get_secret_value()]
        if not missing:
            return None
        return f"ops-bot {mode}: {' and '.join(missing)} not set (see README, Connecting to Slack)"
