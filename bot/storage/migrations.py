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
    (
        2,
        "incidents and durable escalation steps",
        """
        CREATE TABLE incidents (
            id               SERIAL PRIMARY KEY,
            severity         TEXT NOT NULL,
            title            TEXT NOT NULL,
            state            TEXT NOT NULL DEFAULT 'open',
            declared_by      TEXT NOT NULL,
            declared_at      TIMESTAMPTZ NOT NULL,
            declared_in      TEXT,
            channel_id       TEXT,
            thread_ts        TEXT,
            acknowledged_by  TEXT,
            acknowledged_at  TIMESTAMPTZ,
            resolved_by      TEXT,
            resolved_at      TIMESTAMPTZ,
            resolution       TEXT
        );
        CREATE INDEX incidents_open ON incidents (state, id DESC);
        CREATE TABLE escalation_steps (
            id           BIGSERIAL PRIMARY KEY,
            incident_id  INTEGER REFERENCES incidents (id),
            position     INTEGER NOT NULL,
            kind         TEXT NOT NULL,
            payload      JSONB NOT NULL DEFAULT '{}'::jsonb,
            due_at       TIMESTAMPTZ NOT NULL,
            unless_ack   BOOLEAN NOT NULL DEFAULT false,
            state        TEXT NOT NULL DEFAULT 'pending',
            attempts     INTEGER NOT NULL DEFAULT 0,
            fired_at     TIMESTAMPTZ,
            fired_by     TEXT,
            late_ms      INTEGER,
            last_error   TEXT,
            result       JSONB
        );
        CREATE INDEX escalation_steps_due ON escalation_steps (due_at) WHERE state = 'pending';
        CREATE INDEX escalation_steps_incident ON escalation_steps (incident_id, position);
        CREATE TABLE tickets (
            id           SERIAL PRIMARY KEY,
            incident_id  INTEGER NOT NULL REFERENCES incidents (id),
            created_at   TIMESTAMPTZ NOT NULL,
            webhook_state TEXT NOT NULL DEFAULT 'none'
        );
        CREATE TABLE checklist_items (
            incident_id  INTEGER NOT NULL REFERENCES incidents (id),
            position     INTEGER NOT NULL,
            text         TEXT NOT NULL,
            done_by      TEXT,
            done_at      TIMESTAMPTZ,
            PRIMARY KEY (incident_id, position)
        );
        CREATE TABLE oncall (
            role     TEXT PRIMARY KEY,
            user_id  TEXT NOT NULL,
            set_by   TEXT NOT NULL,
            set_at   TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        3,
        "scheduled runs: one row per job and slot, claimed by one replica",
        """
        CREATE TABLE scheduled_runs (
            job          TEXT NOT NULL,
            slot         TIMESTAMPTZ NOT NULL,
            replica      TEXT NOT NULL,
            claimed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at  TIMESTAMPTZ,
            outcome      TEXT,
            detail       TEXT,
            PRIMARY KEY (job, slot)
        );
        """,
    ),
    (
        4,
        "escalation claim: index in the claim's own order (due time, then id)",
        """
        CREATE INDEX escalation_steps_claim ON escalation_steps (due_at, id) WHERE state = 'pending';
        DROP INDEX escalation_steps_due;
        """,
    ),
    (
        5,
        "escalation steps leased for sending (claim, send outside a transaction, record); why a step was late",
        """
        ALTER TABLE escalation_steps
            ADD COLUMN claimed_by  TEXT,
            ADD COLUMN lease_until TIMESTAMPTZ,
            ADD COLUMN uncertain   BOOLEAN NOT NULL DEFAULT false,
            ADD COLUMN late_reason TEXT;
        CREATE INDEX escalation_steps_leased ON escalation_steps (lease_until) WHERE state = 'sending';
        CREATE INDEX escalation_steps_open ON escalation_steps (incident_id, position)
            WHERE state IN ('pending', 'sending');
        """,
    ),
    (
        7,
        "audit rows written late (the spool) are written once: entry_id unique",
        """
        ALTER TABLE audit_log ADD COLUMN entry_id TEXT;
        CREATE UNIQUE INDEX audit_log_entry_id ON audit_log (entry_id) WHERE entry_id IS NOT NULL;
        """,
    ),
    (
        9,
        "alert groups: one row per (source, group key), its one Slack message and its thread's history",
        """
        CREATE TABLE alert_groups (
            id              BIGSERIAL PRIMARY KEY,
            source          TEXT NOT NULL,
            group_key       TEXT NOT NULL,
            status          TEXT NOT NULL,
            labels          JSONB NOT NULL DEFAULT '{}'::jsonb,
            annotations     JSONB NOT NULL DEFAULT '{}'::jsonb,
            alerts          JSONB NOT NULL DEFAULT '{}'::jsonb,
            version         INTEGER NOT NULL DEFAULT 0,
            posted_version  INTEGER NOT NULL DEFAULT 0,
            history         JSONB NOT NULL DEFAULT '[]'::jsonb,
            history_posted  INTEGER NOT NULL DEFAULT 0,
            channel_id      TEXT,
            ts              TEXT,
            first_seen      TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            resolved_at     TIMESTAMPTZ,
            incident_id     INTEGER REFERENCES incidents (id),
            acked_by        TEXT,
            rule_done       BOOLEAN NOT NULL DEFAULT false,
            lease_by        TEXT,
            lease_until     TIMESTAMPTZ,
            last_error      TEXT,
            post_attempted  BOOLEAN NOT NULL DEFAULT false,
            UNIQUE (source, group_key)
        );
        CREATE INDEX alert_groups_behind ON alert_groups (updated_at) WHERE posted_version < version;
        CREATE INDEX alert_groups_firing ON alert_groups (first_seen DESC) WHERE status = 'firing';
        """,
    ),
    (
        10,
        "audit rows carry the verification of a step's effect (what was re-read after it ran)",
        """
        ALTER TABLE audit_log ADD COLUMN verification JSONB;
        """,
    ),
    (
        11,
        "alert storms: one living summary per channel; a group's rank in the queue and its storm",
        """
        CREATE TABLE alert_storms (
            id              BIGSERIAL PRIMARY KEY,
            channel_id      TEXT NOT NULL,
            started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            ended_at        TIMESTAMPTZ,
            ts              TEXT,
            post_attempted  BOOLEAN NOT NULL DEFAULT false,
            version         INTEGER NOT NULL DEFAULT 1,
            posted_version  INTEGER NOT NULL DEFAULT 0,
            lease_by        TEXT,
            lease_until     TIMESTAMPTZ
        );
        CREATE UNIQUE INDEX alert_storms_open ON alert_storms (channel_id) WHERE ended_at IS NULL;
        ALTER TABLE alert_groups
            ADD COLUMN rank          SMALLINT,
            ADD COLUMN storm_id      BIGINT REFERENCES alert_storms (id),
            ADD COLUMN storm_listed  BOOLEAN NOT NULL DEFAULT false;
        CREATE INDEX alert_groups_storm ON alert_groups (storm_id, rank, first_seen) WHERE storm_id IS NOT NULL;
        """,
    ),
    (
        12,
        "on-call overrides (set, override, swap, cover) and swap/cover requests answered once",
        """
        CREATE TABLE oncall_overrides (
            id          SERIAL PRIMARY KEY,
            role        TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            starts_at   TIMESTAMPTZ NOT NULL,
            ends_at     TIMESTAMPTZ NOT NULL CHECK (ends_at > starts_at),
            kind        TEXT NOT NULL,
            request_id  INTEGER,
            created_by  TEXT NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX oncall_overrides_role ON oncall_overrides (role, ends_at);
        CREATE UNIQUE INDEX oncall_overrides_once_per_request ON oncall_overrides (request_id, user_id)
            WHERE request_id IS NOT NULL;
        CREATE TABLE oncall_requests (
            id          SERIAL PRIMARY KEY,
            kind        TEXT NOT NULL,
            role        TEXT NOT NULL,
            asker       TEXT NOT NULL,
            target      TEXT,
            starts_at   TIMESTAMPTZ NOT NULL,
            ends_at     TIMESTAMPTZ NOT NULL,
            back_starts_at TIMESTAMPTZ,
            back_ends_at   TIMESTAMPTZ,
            state       TEXT NOT NULL DEFAULT 'pending',
            answered_by TEXT,
            answered_at TIMESTAMPTZ,
            created_at  TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE oncall_imports (
            role        TEXT PRIMARY KEY,
            url         TEXT NOT NULL,
            body        BYTEA,
            fetched_at  TIMESTAMPTZ,
            tried_at    TIMESTAMPTZ NOT NULL,
            last_error  TEXT
        );
        CREATE TABLE oncall_layouts (
            role        TEXT NOT NULL,
            digest      TEXT NOT NULL,
            layout      JSONB NOT NULL,
            stored_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (role, digest)
        );
        CREATE TABLE oncall_home_state (
            key         TEXT PRIMARY KEY,
            digest      TEXT NOT NULL
        );
        CREATE TABLE oncall_home_viewers (
            user_id     TEXT PRIMARY KEY,
            opened_at   TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE oncall_usergroups (
            usergroup   TEXT PRIMARY KEY,
            users       TEXT[] NOT NULL,
            synced_at   TIMESTAMPTZ NOT NULL
        );
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
