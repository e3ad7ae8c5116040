"""Alert storms: what waits for Slack is ranked, and a flood becomes one living summary per channel.

Slack takes about one message a second per channel; that is the physical limit, and a
storm of 2,000 groups posted one message each would take half an hour, with a critical
alert arriving behind all of it. So:

- every group gets a rank when first seen (`rank_of`): critical first, then groups whose rule
  declares an incident, then the rest; leases take the lowest rank first, new groups before
  updates of groups already posted;
- once STORM_BACKLOG groups of the lowest rank wait for their first message in one channel,
  a storm opens there: those groups (and the ones after them) get no message of their own.
  One summary message says what is firing (counts by severity, the most frequent alert
  names) and is edited (chat.update) as it changes, at most every UPDATE_EVERY seconds; its
  thread lists every group of the storm, LIST_CHUNK to a message; `/ops alerts` lists them
  too. Critical groups and rules that declare keep their own message, and are sent before
  the storm's own messages;
- when every group of the storm has resolved, its summary says so and the storm closes;
  the next group gets its own message again.

The storm row is leased like a group (one replica writes its summary and thread at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.alerts.store import ALERTS_CHANNEL, AlertGroup
from bot.storage.database import BotDatabase

STORM_BACKLOG = 10
"""New lowest-rank groups waiting in one channel that open a storm (10 s of Slack's pace)."""
LIST_CHUNK = 100
"""Groups listed per thread message of a storm (short lines: about 5,000 characters)."""
UPDATE_EVERY = 3.0
"""Seconds between two edits of a storm's summary (chat.update is rate-limited too)."""
STORM_LEASE = 60.0

RANK_CRITICAL, RANK_DECLARES, RANK_OTHER = 0, 1, 2
URGENT = (RANK_CRITICAL, RANK_DECLARES)


def severity_of(group: AlertGroup) -> str:
    return group.labels.get("severity") or next(
        (a["labels"].get("severity") for a in group.alerts.values() if a["labels"].get("severity")), ""
    )


def rank_of(group: AlertGroup, declares: bool) -> int:
    """Lower goes first: a critical alert, then one whose rule declares an incident, then the rest."""
    if severity_of(group) == "critical" or any(
        a["labels"].get("severity") == "critical" for a in group.alerts.values()
    ):
        return RANK_CRITICAL
    return RANK_DECLARES if declares else RANK_OTHER


@dataclass(frozen=True)
class Storm:
    id: int
    channel_id: str
    ts: str | None
    post_attempted: bool
    version: int
    posted_version: int


@dataclass(frozen=True)
class StormCounts:
    firing: int
    resolved: int
    by_severity: list[tuple[str, int]]
    top_names: list[tuple[str, int]]
    started_at: Any


_STORM_COLUMNS = "id, channel_id, ts, post_attempted, version, posted_version"


def _storm(row: asyncpg.Record) -> Storm:
    return Storm(row["id"], row["channel_id"], row["ts"], row["post_attempted"], row["version"], row["posted_version"])


class StormStore:
    def __init__(self, db: BotDatabase) -> None:
        self.db = db

    async def rank_new(self, ranks: list[tuple[int, int]]) -> None:
        async with self.db.connection() as conn:
            await conn.executemany("UPDATE alert_groups SET rank = $2 WHERE id = $1", ranks)

    async def unranked(self, limit: int = 2000) -> list[asyncpg.Record]:
        async with self.db.connection() as conn:
            return list(
                await conn.fetch(
                    "SELECT id, labels, alerts FROM alert_groups WHERE rank IS NULL AND posted_version < version"
                    " LIMIT $1",
                    limit,
                )
            )

    async def open_where_flooded(self, backlog: int | None = None) -> dict[str, int]:
        """Open a storm in every channel where `backlog` lowest-rank groups wait for a first message;
        returns every open storm, channel -> id."""
        async with self.db.connection() as conn:
            flooded = await conn.fetch(
                "SELECT channel_id FROM alert_groups WHERE posted_version < version AND ts IS NULL"
                " AND storm_id IS NULL AND rank = $1 AND status = 'firing' AND channel_id IS NOT NULL"
                " GROUP BY channel_id HAVING count(*) >= $2",
                RANK_OTHER,
                STORM_BACKLOG if backlog is None else backlog,
            )
            for row in flooded:
                await conn.execute(
                    "INSERT INTO alert_storms (channel_id) VALUES ($1)"
                    " ON CONFLICT (channel_id) WHERE ended_at IS NULL DO NOTHING",
                    row["channel_id"],
                )
            rows = await conn.fetch("SELECT id, channel_id FROM alert_storms WHERE ended_at IS NULL")
        return {r["channel_id"]: int(r["id"]) for r in rows}

    async def fold(self, group: AlertGroup, storm_id: int) -> None:
        """The group is part of the storm: its state shows in the summary, not in a message of its own."""
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE alert_groups SET storm_id = $2, posted_version = greatest(posted_version, $3),"
                " history_posted = $4, lease_until = NULL, last_error = NULL WHERE id = $1",
                group.id,
                storm_id,
                group.version,
                len(group.history),
            )
            await conn.execute("UPDATE alert_storms SET version = version + 1 WHERE id = $1", storm_id)
            await conn.execute("SELECT pg_notify($1, $2)", ALERTS_CHANNEL, f"storm:{storm_id}")

    async def lease(self, storm_id: int, name: str) -> Storm | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                "UPDATE alert_storms SET lease_by = $2, lease_until = now() + make_interval(secs => $3)"
                " WHERE id = $1 AND ended_at IS NULL AND (lease_until IS NULL OR lease_until < now() OR lease_by = $2)"
                f" RETURNING {_STORM_COLUMNS}",
                storm_id,
                name,
                STORM_LEASE,
            )
        return _storm(row) if row else None

    async def renew(self, storm_id: int, name: str) -> bool:
        return await self.lease(storm_id, name) is not None

    async def release(self, storm_id: int, name: str) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE alert_storms SET lease_until = NULL WHERE id = $1 AND lease_by = $2", storm_id, name
            )

    async def set_fields(self, storm_id: int, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(fields))
        async with self.db.connection() as conn:
            await conn.execute(f"UPDATE alert_storms SET {sets} WHERE id = $1", storm_id, *fields.values())

    async def counts(self, storm_id: int) -> StormCounts:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT status, coalesce(labels->>'severity', '') AS severity,"
                " coalesce(labels->>'alertname', 'alert') AS name, count(*) AS n"
                " FROM alert_groups WHERE storm_id = $1 GROUP BY 1, 2, 3",
                storm_id,
            )
            started = await conn.fetchval("SELECT started_at FROM alert_storms WHERE id = $1", storm_id)
        severities: dict[str, int] = {}
        names: dict[str, int] = {}
        firing = resolved = 0
        for r in rows:
            if r["status"] == "firing":
                firing += r["n"]
                severities[r["severity"]] = severities.get(r["severity"], 0) + r["n"]
                names[r["name"]] = names.get(r["name"], 0) + r["n"]
            else:
                resolved += r["n"]
        return StormCounts(
            firing,
            resolved,
            sorted(severities.items(), key=lambda kv: (-kv[1], kv[0])),
            sorted(names.items(), key=lambda kv: (-kv[1], kv[0])),
            started,
        )

    async def unlisted(self, storm_id: int, limit: int = LIST_CHUNK) -> list[asyncpg.Record]:
        async with self.db.connection() as conn:
            return list(
                await conn.fetch(
                    "SELECT id, labels, annotations, status FROM alert_groups"
                    " WHERE storm_id = $1 AND NOT storm_listed ORDER BY rank, first_seen, id LIMIT $2",
                    storm_id,
                    limit,
                )
            )

    async def mark_listed(self, ids: list[int]) -> None:
        async with self.db.connection() as conn:
            await conn.execute("UPDATE alert_groups SET storm_listed = true WHERE id = ANY($1::bigint[])", ids)

    async def end_if_over(self, storm_id: int) -> bool:
        """Close the storm when none of its groups fires and all were listed; True when closed."""
        async with self.db.connection() as conn:
            closed = await conn.fetchval(
                "UPDATE alert_storms SET ended_at = now(), lease_until = NULL WHERE id = $1 AND ended_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM alert_groups WHERE storm_id = $1"
                " AND (status = 'firing' OR NOT storm_listed OR posted_version < version))"
                " RETURNING 1",
                storm_id,
            )
        return closed is not None
