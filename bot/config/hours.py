"""When a contact can be reached: working hours in their own time zone, or always when on call."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.ops_yml import Contact


def reachable(contact: Contact, moment: datetime, default_tz: str, on_call: bool | None = None) -> bool:
    """On call or no hours given: always; otherwise within their hours in their time zone."""
    if (contact.on_call if on_call is None else on_call) or contact.hours is None:
        return True
    local = moment.astimezone(ZoneInfo(contact.timezone or default_tz))
    return contact.hours.contains(local.time())


def next_reachable(contact: Contact, moment: datetime, default_tz: str, on_call: bool | None = None) -> datetime:
    """`moment` if they can be reached then, else the next start of their hours (an aware datetime)."""
    if reachable(contact, moment, default_tz, on_call) or contact.hours is None:
        return moment
    tz = ZoneInfo(contact.timezone or default_tz)
    local = moment.astimezone(tz)
    start = datetime.combine(local.date(), contact.hours.start, tzinfo=tz)
    if start <= local:
        start = datetime.combine(local.date() + timedelta(days=1), contact.hours.start, tzinfo=tz)
    return start
