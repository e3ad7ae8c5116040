"""Times as an on-call engineer reads them: in one named zone, said once per message.

"09:12" alone is a trap at 3 AM (whose 09:12? the server's UTC, Santiago's, mine?). Every
handler that shows a time formats it here, in the zone of ops.yml `timezone` (or a contact's
own), and the message says which zone once (`zone_note`), so rows stay short and cannot mix zones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    """The zone called `name`; UTC when it is empty or unknown (config validation refuses those)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def offset(moment: datetime, tz: ZoneInfo) -> str:
    """The zone's offset at that moment, as `UTC−03:00` (what is true that day, DST included)."""
    delta = _aware(moment).astimezone(tz).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta else 0
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(tz: ZoneInfo, moment: datetime | None = None) -> str:
    """`America/Santiago (UTC−03:00)`: the name a person knows and the offset that day."""
    return f"{tz.key} ({offset(moment or datetime.now(UTC), tz)})"


def local(moment: datetime, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in `tz`, without the zone: for rows of a message that states its zone once."""
    return _aware(moment).astimezone(tz).strftime(fmt)


def stamped(moment: datetime, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in `tz` with its zone: for a single time in a sentence (`2026-12-02 09:12 America/Santiago`)."""
    return f"{local(moment, tz, fmt)} {tz.key}"


def labelled(moment: datetime, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`09:12:30 Asia/Kolkata (UTC+05:30)`: the one time of a short notice with its zone and offset,
    so a message holding a single time says its zone without a separate zone note."""
    return f"{local(moment, tz, fmt)} {zone_label(tz, moment)}"
