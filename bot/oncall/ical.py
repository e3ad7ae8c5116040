"""A rota as an iCal feed (out), and another calendar's feed read as a rota's lowest layer (in),
both with the `icalendar` package.

Out: one VEVENT per piece of the final timeline (layers and overrides, gaps left out), its UID
stable across fetches so a calendar app updates an event instead of adding a copy.
In: each VEVENT is a shift of the person it names: a Slack user id (U…/W…) in its SUMMARY,
DESCRIPTION or an ATTENDEE, else an ATTENDEE whose e-mail, or a SUMMARY that is exactly the name,
of a contact in ops.yml. Recurring events are expanded with recurring-ical-events. An event that
names nobody is left out (and counted, so the log can say so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

import recurring_ical_events
from icalendar import Calendar, Event

from bot.config.ops_yml import Contact
from bot.oncall.rota import Shift

PRODID = "-//ops-bot//on-call rotas//EN"
IMPORTED = "import"
_USER = re.compile(r"\b([UW][A-Z0-9]{6,})\b")


def render_feed(role: str, shifts: Iterable[Shift], names: dict[str, str], stamp: datetime) -> bytes:
    """The shifts as an iCal calendar; `names` turns a Slack id into a person's name."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"On call: {role}")
    for shift in shifts:
        event = Event()
        event.add("uid", f"{role}-{shift.user}-{int(shift.start.timestamp())}@ops-bot")
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        who = names.get(shift.user, shift.user)
        event.add("summary", f"On call: {role} — {who}")
        event.add("description", f"{shift.user} ({shift.layer})")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _aware(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), UTC)


def _who(event: Event, contacts: list[Contact]) -> str | None:
    texts = [str(event.get("summary", "")), str(event.get("description", ""))]
    attendees = event.get("attendee", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    texts += [str(a) for a in attendees]
    for text in texts:
        found = _USER.search(text)
        if found:
            return found.group(1)
    mails = {str(a).lower().removeprefix("mailto:") for a in attendees}
    summary = texts[0].strip().lower()
    for contact in contacts:
        if (contact.email and contact.email.lower() in mails) or contact.name.lower() == summary:
            return contact.slack
    return None


def parse_feed(body: bytes, contacts: list[Contact], start: datetime, end: datetime) -> tuple[list[Shift], int]:
    """The feed's shifts overlapping [start, end) (recurrences expanded), and how many events
    named nobody. Raises ValueError when the body is not iCal."""
    try:
        calendar = Calendar.from_ical(body)
    except Exception as exc:  # icalendar raises several types for a body that is not iCal
        raise ValueError(f"not an iCal feed: {type(exc).__name__}") from None
    shifts: list[Shift] = []
    nameless = 0
    for event in recurring_ical_events.of(calendar).between(start, end):
        who = _who(event, contacts)
        begin = _aware(event.decoded("dtstart"))
        finish = _aware(event.decoded("dtend")) if event.get("dtend") else begin
        if who is None or finish <= begin:
            nameless += who is None
            continue
        shifts.append(Shift(begin, finish, who, IMPORTED))
    return sorted(shifts, key=lambda s: s.start), nameless
