"""The bot's own tables, as numbered migrations applied once each, in order.

Applied by `ops-bot migrate` and at start; an advisory lock makes replicas that start
together take turns instead of racing. Never edit a migration that has shipped: add one.
"""

from __future__ import annotations

import asyncpg

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "audit log",
        """
        CREATE TABLE audit_log (
            id           BIGSERIAL PRIMARY KEY,
            at           TIMESTAMPTZ NOT NULL DEFAULT now(),
            request_id   TEXT NOT NULL,
            user_id      TEXT NOT NULL,
            channel_id   TEXT,
            source       TEXT NOT NULL,
            operation    TEXT NOT NULL,
            arguments    JSONB NOT NULL DEFAULT '{}'::jsonb,
            decision     TEXT NOT NULL,
            outcome      TEXT NOT NULL,
            detail       TEXT,
            duration_ms  INTEGER
        );
        CREATE INDEX audit_log_at ON audit_log (at DESC);
        CREATE INDEX audit_log_user ON audit_log (user_id, at DESC);
        """,
    ),
]

_LOCK_KEY = 0x6F7073626F74  # "opsbot"


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the pending migrations; returns the versions applied now."""
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
