"""The Slack message metadata that names what the bot sent a message for (a step, an alert group).

A send whose answer never came is looked for by this marker before it is sent again, by the
escalation worker and the alert poster alike; it lives here, below both, so they share one shape.
"""

from __future__ import annotations

from typing import Any

MARKER_EVENT = "opsbot_step"
"""The `event_type` of the metadata that names the step a message was sent for."""


def marker(steps: list[int], part: str) -> dict[str, Any]:
    """The metadata that names the step(s) a message belongs to and which of its messages it is."""
    return {"event_type": MARKER_EVENT, "event_payload": {"steps": list(steps), "part": part}}


def has_marker(message: dict[str, Any], step: int, part: str) -> bool:
    meta = message.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    return bool(
        meta.get("event_type") == MARKER_EVENT and payload.get("part") == part and step in (payload.get("steps") or [])
    )
