"""Alert groups in the bot's Postgres: one row per group, however often or wherever it arrives.

Alertmanager repeats a group's notification (repeat_interval), retries it on errors, and a
load balancer may hand the same webhook to two replicas at once. Every delivery is one
`INSERT … ON CONFLICT (source, group_key) DO UPDATE` that merges the alerts by their
fingerprint and bumps `version` only when something a reader would see changed; the poster
then brings the group's one Slack message up to that version. So a repeat, a retry or a
second replica changes nothing, and posts nothing new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.alerts.payloads import AlertGroupIn
from bot.storage.database import BotDatabase

ALERTS_CHANNEL = "opsbot_alert_groups"
"""NOTIFY channel: a group changed, every replica's poster looks."""

RECORD_ATTEMPTS = 8
"""Reads and merges of one delivery before giving up (answered 503, so the sender retries)."""

GROUP_COLUMNS = (
    "id, source, group_key, status, labels, annotations, alerts, version, posted_version, channel_id, ts,"
    " first_seen, updated_at, resolved_at, incident_id, acked_by, rule_done, history, post_attempted, rank, storm_id"
)


@dataclass(frozen=True)
class AlertGroup:
    """A group as stored: its alerts keyed by fingerprint, and where its message is."""

    id: int
    source: str
    group_key: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    alerts: dict[str, dict[str, Any]]
    version: int
    posted_version: int
    channel_id: str | None
    ts: str | None
    first_seen: datetime
    updated_at: datetime
    resolved_at: datetime | None
    incident_id: int | None
    acked_by: str | None
    rule_done: bool
    history: list[dict[str, Any]]
    post_attempted: bool = False
    rank: int | None = None
    """Its place in the queue for Slack (bot/alerts/storm.py): 0 critical, 1 its rule declares, 2 the rest."""
    storm_id: int | None = None
    """The storm whose summary shows it instead of a message of its own."""

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> AlertGroup:
        def load(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        return cls(
            id=row["id"],
            source=row["source"],
            group_key=row["group_key"],
            status=row["status"],
            labels=load(row["labels"]),
            annotations=load(row["annotations"]),
            alerts=load(row["alerts"]),
            version=row["version"],
            posted_version=row["posted_version"],
            channel_id=row["channel_id"],
            ts=row["ts"],
            first_seen=row["first_seen"],
            updated_at=row["updated_at"],
            resolved_at=row["resolved_at"],
            incident_id=row["incident_id"],
            acked_by=row["acked_by"],
            rule_done=row["rule_done"],
            history=load(row["history"]) or [],
            post_attempted=row["post_attempted"],
            rank=row.get("rank"),
            storm_id=row.get("storm_id"),
        )

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or next(
            (a["labels"].get("alertname", "") for a in self.alerts.values() if a["labels"].get("alertname")), "alert"
        )

    @property
    def firing(self) -> list[dict[str, Any]]:
        return [a for a in self.alerts.values() if a["status"] == "firing"]


def alerts_of(group: AlertGroupIn) -> dict[str, dict[str, Any]]:
    return {
        alert.key: {
            "status": alert.status,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "starts_at": alert.startsAt.isoformat() if alert.startsAt else None,
            "ends_at": alert.endsAt.isoformat() if alert.endsAt and alert.status == "resolved" else None,
            "generator_url": alert.generatorURL,
        }
        for alert in group.alerts
    }


def changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """What a reader of the thread should hear: alerts that started firing or resolved."""
    said = []
    for key, alert in after.items():
        was = before.get(key, {}).get("status")
        if alert["status"] != was:
            said.append({"alert": key, "status": alert["status"], "labels": alert["labels"]})
    return said


class AlertStore:
    def __init__(self, db: BotDatabase) -> None:
        self.db = db

    async def record(self, source: str, group: AlertGroupIn, channel_id: str | None) -> tuple[AlertGroup, bool]:
        """Merge one delivery into its group's row; returns the group and whether readers see a change.

        Optimistic, one statement per write and no explicit transaction: read the row; if the
        delivery changes nothing (a repeat, the other HA peer's copy) that read is all. Otherwise
        insert the group, or update it only if its `version` is still the one read; a replica that
        lost that race reads again and merges into the winner's row, so two replicas taking the
        same webhook still change the row once. The NOTIFY goes with the write (sent at commit)."""
        incoming = alerts_of(group)
        labels = {**group.groupLabels, **group.commonLabels}
        async with self.db.connection() as conn:
            for _attempt in range(RECORD_ATTEMPTS):
                known = await conn.fetchrow(
                    f"SELECT {GROUP_COLUMNS} FROM alert_groups WHERE source = $1 AND group_key = $2",
                    source,
                    group.groupKey,
                )
                current = AlertGroup.from_row(known) if known is not None else None
                before = current.alerts if current is not None else {}
                said = changes(before, incoming)
                merged = {**before, **incoming}
                status = "firing" if any(a["status"] == "firing" for a in merged.values()) else "resolved"
                if current is not None and current.alerts and not said and status == current.status:
                    return current, False
                now = datetime.now(UTC).isoformat()
                history = [*(current.history if current else []), *({"at": now, **c} for c in said)][-200:]
                if current is None:
                    row = await conn.fetchrow(
                        "INSERT INTO alert_groups (source, group_key, status, labels, annotations, alerts, channel_id,"
                        " version, history, resolved_at) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, 1,"
                        " $8::jsonb, CASE WHEN $3 = 'resolved' THEN now() END)"
                        " ON CONFLICT (source, group_key) DO NOTHING"
                        f" RETURNING {GROUP_COLUMNS}, pg_notify($9, id::text)",
                        source,
                        group.groupKey,
                        status,
                        json.dumps(labels),
                        json.dumps(group.commonAnnotations),
                        json.dumps(merged),
                        channel_id,
                        json.dumps(history),
                        ALERTS_CHANNEL,
                    )
                else:
                    row = await conn.fetchrow(
                        "UPDATE alert_groups SET status = $2, alerts = $3::jsonb, labels = $4::jsonb,"
                        " annotations = $5::jsonb, version = version + 1, updated_at = now(), history = $6::jsonb,"
                        " resolved_at = CASE WHEN $2 = 'resolved' THEN coalesce(resolved_at, now()) ELSE NULL END"
                        f" WHERE id = $1 AND version = $7 RETURNING {GROUP_COLUMNS}, pg_notify($8, id::text)",
                        current.id,
                        status,
                        json.dumps(merged),
                        json.dumps(labels or current.labels),
                        json.dumps(group.commonAnnotations or current.annotations),
                        json.dumps(history),
                        current.version,
                        ALERTS_CHANNEL,
                    )
                if row is not None:
                    return AlertGroup.from_row(row), True
        raise RuntimeError(f"alert group {group.groupKey[:80]} changed {RECORD_ATTEMPTS} times while merging")

    async def get(self, group_id: int) -> AlertGroup | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(f"SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1", group_id)
        return AlertGroup.from_row(row) if row else None

    async def firing(self, limit: int = 50) -> list[AlertGroup]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {GROUP_COLUMNS} FROM alert_groups WHERE status = 'firing' ORDER BY first_seen DESC LIMIT $1",
                limit,
            )
        return [AlertGroup.from_row(r) for r in rows]

    async def set_fields(self, group_id: int, **fields: Any) -> AlertGroup | None:
        """Change who acknowledged it, its incident…; the message is brought up to date after."""
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(fields))
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                f"UPDATE alert_groups SET {sets}, version = version + 1 WHERE id = $1 RETURNING {GROUP_COLUMNS}",
                group_id,
                *fields.values(),
            )
            if row is not None:
                await conn.execute("SELECT pg_notify($1, $2)", ALERTS_CHANNEL, str(group_id))
        return AlertGroup.from_row(row) if row else None
