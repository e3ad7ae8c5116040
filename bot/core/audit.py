"""The durable record of who ran what: one row per command, per click and per step.

It is separate from logging on purpose: logs rotate and are for debugging, the audit
log answers "who restarted the api at 03:12" months later.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from bot.storage.database import BotDatabase
from bot.text.redact import Redactor

log = logging.getLogger(__name__)


@dataclass
class AuditEntry:
    request_id: str
    user_id: str
    channel_id: str | None
    source: str
    operation: str
    arguments: dict[str, Any] = field(default_factory=dict)
    decision: str = "allowed"
    outcome: str = "ok"
    detail: str | None = None
    duration_ms: int | None = None
    entry_id: str | None = None
    """Set for rows that may be written late (bot/core/audit_spool.py): written twice, they are one row."""
    at: datetime | None = None
    """When it happened, for a row written late; None = now."""
    verification: dict[str, Any] | None = None
    """What the step's effect looked like re-read after it ran (bot/core/verify.py), or None."""


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    user_id: str
    channel_id: str | None
    source: str
    operation: str
    arguments: dict[str, Any]
    decision: str
    outcome: str
    detail: str | None
    duration_ms: int | None
    verification: dict[str, Any] | None = None


_INSERT = (
    "INSERT INTO audit_log (request_id, user_id, channel_id, source, operation, arguments,"
    " decision, outcome, detail, duration_ms, entry_id, at, verification)"
    " VALUES ($1,$2,$3,$4,$5,$6::jsonb,$7,$8,$9,$10,$11,coalesce($12, now()),$13::jsonb)"
    " ON CONFLICT (entry_id) WHERE entry_id IS NOT NULL DO NOTHING"
)


class AuditStore:
    def __init__(self, db: BotDatabase, redact: Redactor) -> None:
        self._db = db
        self._redact = redact

    async def record(self, entry: AuditEntry, conn: asyncpg.Connection | None = None) -> None:
        """Write one row; raises UnavailableError when the database is down.

        With `conn`, the row joins that connection's transaction (a page and its audit row
        commit together)."""
        if conn is not None:
            await self._insert(conn, entry)
            return
        async with self._db.connection() as own:
            await self._insert(own, entry)

    async def record_many(self, entries: list[AuditEntry], conn: asyncpg.Connection) -> None:
        """Several rows in one pipelined statement (a batch of escalation pages)."""
        if entries:
            await conn.executemany(_INSERT, [self._values(entry) for entry in entries])

    async def _insert(self, conn: asyncpg.Connection, entry: AuditEntry) -> None:
        await conn.execute(_INSERT, *self._values(entry))

    def _values(self, entry: AuditEntry) -> tuple[object, ...]:
        arguments = self._redact(json.dumps(entry.arguments, default=str, ensure_ascii=False))
        detail = self._redact(entry.detail)[:2000] if entry.detail else None
        verification = (
            self._redact(json.dumps(entry.verification, default=str, ensure_ascii=False))
            if entry.verification is not None
            else None
        )
        return (
            entry.request_id,
            entry.user_id,
            entry.channel_id,
            entry.source,
            entry.operation,
            arguments,
            entry.decision,
            entry.outcome,
            detail,
            entry.duration_ms,
            entry.entry_id,
            entry.at,
            verification,
        )

    async def recent(self, limit: int, user_id: str | None = None) -> list[AuditRow]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                "SELECT at, user_id, channel_id, source, operation, arguments, decision, outcome, detail, duration_ms,"
                " verification FROM audit_log WHERE ($2::text IS NULL OR user_id = $2) ORDER BY id DESC LIMIT $1",
                limit,
                user_id,
            )
        return [
            AuditRow(
                at=r["at"],
                user_id=r["user_id"],
                channel_id=r["channel_id"],
                source=r["source"],
                operation=r["operation"],
                arguments=json.loads(r["arguments"]) if isinstance(r["arguments"], str) else dict(r["arguments"]),
                decision=r["decision"],
                outcome=r["outcome"],
                detail=r["detail"],
                duration_ms=r["duration_ms"],
                verification=_json_or_none(r["verification"]),
            )
            for r in rows
        ]


def _json_or_none(value: Any) -> dict[str, Any] | None:
    """A JSONB column as asyncpg returns it (text without a codec) → a dict, or None."""
    if value is None:
        return None
    return dict(json.loads(value)) if isinstance(value, str) else dict(value)
