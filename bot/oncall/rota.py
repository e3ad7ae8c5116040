"""A rota's shifts, expanded from its layers, and who is on call at an instant.

A layer is an iCal recurrence (`daily`, `weekly` or an RRULE) expanded by python-dateutil over
naive wall-clock times in the rota's zone, each occurrence then placed in that zone with
zoneinfo: a 09:00 hand-off stays 09:00 local on both daylight-saving nights (the shift across the
change is 23 h or 25 h long). Occurrence k goes to `members[k % len(members)]`.

Resolution order at an instant: the newest override that covers it, else the last layer (in
ops.yml order) with a shift covering it, else nobody (a gap). A layer is compiled once and kept
as sorted arrays, so "who is on call now" is one binary search per layer (it is on the paging
path); the arrays grow on demand when a later instant is asked for.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, WEEKLY, rrule, rrulestr

from bot.config.ops_yml import Hours, Rota, RotaLayer

DEFAULT_START = date(2024, 1, 1)
"""A layer without `start` counts its turns from this Monday: the same on every replica and
every restart, so the rota never moves because the bot did."""
DEFAULT_HANDOFF = time(9, 0)
DEFAULT_WEEKDAY = 0  # Monday, for a weekly layer without a hand-off day
DAY = timedelta(days=1)
GROW = timedelta(days=400)  # how much further a layer is expanded when a later instant is asked for
OVERRIDE = "override"


@dataclass(frozen=True)
class Shift:
    """Who is on call from `start` to `end` (both UTC), and which layer (or override) says so."""

    start: datetime
    end: datetime
    user: str
    layer: str

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Override:
    """A stored override: `user` is on call over [start, end); the newest one wins an overlap."""

    id: int
    start: datetime
    end: datetime
    user: str
    kind: str = OVERRIDE

    def as_shift(self) -> Shift:
        return Shift(self.start, self.end, self.user, self.kind)


def _is_rule(rotation: str) -> bool:
    return rotation not in ("daily", "weekly")


def _rule_names_days(rotation: str) -> bool:
    """A rule listing days (`BYDAY=SA,SU`) covers those days: each occurrence is one day long."""
    parts = rotation.upper().removeprefix("RRULE:").split(";")
    return any(p.startswith(("BYDAY=", "BYMONTHDAY=", "BYYEARDAY=", "BYSETPOS=")) for p in parts)


def first_start(layer: RotaLayer) -> datetime:
    """The naive local start of the layer's first shift: `start` at the hand-off time, moved on
    to the hand-off's weekday when one is given (a weekly layer hands off on that day)."""
    day = layer.start or DEFAULT_START
    at = layer.handoff.at if layer.handoff else DEFAULT_HANDOFF
    weekday = layer.handoff.weekday if layer.handoff else None
    if weekday is None and layer.rotation == "weekly":
        weekday = DEFAULT_WEEKDAY
    if weekday is not None and not _is_rule(layer.rotation):
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, at)


def recurrence(layer: RotaLayer) -> rrule:
    """The layer's hand-offs as a dateutil rule over naive local times."""
    start = first_start(layer)
    if layer.rotation == "daily":
        return rrule(DAILY, dtstart=start)
    if layer.rotation == "weekly":
        return rrule(WEEKLY, dtstart=start)
    rule = rrulestr(layer.rotation.strip().removeprefix("RRULE:"), dtstart=start)
    assert isinstance(rule, rrule)  # a single RRULE (ops_yml refuses anything else)
    return rule


def _windows(shift_start: datetime, shift_end: datetime, hours: Hours) -> Iterator[tuple[datetime, datetime]]:
    """The `hours` windows that start inside a naive local shift, each to its own end: a night
    window (20:00-08:00) runs past midnight and past the next hand-off, and belongs to the shift
    it started in, so every window has exactly one owner."""
    day = shift_start.date() - DAY
    while True:
        begin = datetime.combine(day, hours.start)
        if begin >= shift_end:
            return
        end = datetime.combine(day + (DAY if hours.end <= hours.start else timedelta(0)), hours.end)
        if begin >= shift_start:
            yield begin, end
        day += DAY


class CompiledLayer:
    """One layer's shifts as sorted UTC arrays, grown lazily from its recurrence."""

    def __init__(self, layer: RotaLayer, zone: ZoneInfo) -> None:
        self.layer = layer
        self.zone = zone
        self.one_day = _is_rule(layer.rotation) and _rule_names_days(layer.rotation)
        self._occurrences = iter(recurrence(layer))
        self._next: datetime | None = next(self._occurrences, None)
        self._count = 0
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.users: list[str] = []
        self.until = datetime.min.replace(tzinfo=UTC)  # shifts starting before this are all expanded

    def _utc(self, naive: datetime) -> datetime:
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def grow(self, horizon: datetime) -> None:
        """Expand every shift that starts before `horizon` (UTC)."""
        while self._next is not None and self.until < horizon:
            begin = self._next
            self._next = next(self._occurrences, None)
            end = begin + DAY if self.one_day or self._next is None else self._next
            if self.one_day and self._next is not None:
                end = min(end, self._next)
            user = self.layer.members[self._count % len(self.layer.members)]
            self._count += 1
            pieces = _windows(begin, end, self.layer.hours) if self.layer.hours else [(begin, end)]
            for a, b in pieces:
                start_utc, end_utc = self._utc(a), self._utc(b)
                if end_utc > start_utc:
                    self.starts.append(start_utc)
                    self.ends.append(end_utc)
                    self.users.append(user)
            self.until = self._utc(self._next) if self._next is not None else datetime.max.replace(tzinfo=UTC)

    def _ensure(self, moment: datetime) -> None:
        if self.until <= moment:
            self.grow(moment + GROW)

    def at(self, moment: datetime) -> Shift | None:
        self._ensure(moment)
        i = bisect.bisect_right(self.starts, moment) - 1
        if i >= 0 and moment < self.ends[i]:
            return Shift(self.starts[i], self.ends[i], self.users[i], self.layer.name)
        return None

    def between(self, start: datetime, end: datetime) -> list[Shift]:
        self._ensure(end)
        # a shift starting before `start` may still cover it: hours windows are under a day, and a
        # plain shift is found by looking one back from the first that starts inside
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        out: list[Shift] = []
        while i < len(self.starts) and self.starts[i] < end:
            if self.ends[i] > start:
                out.append(Shift(self.starts[i], self.ends[i], self.users[i], self.layer.name))
            i += 1
        return out


@dataclass
class CompiledRota:
    """A rota ready to answer: its layers compiled, lowest first (the import feed, when read,
    is the lowest layer and is handed in as ready shifts)."""

    role: str
    rota: Rota
    zone: ZoneInfo
    layers: list[CompiledLayer] = field(default_factory=list)
    imported: list[Shift] = field(default_factory=list)

    @classmethod
    def build(cls, role: str, rota: Rota, default_tz: str) -> CompiledRota:
        zone = ZoneInfo(rota.timezone or default_tz)
        return cls(role, rota, zone, [CompiledLayer(layer, zone) for layer in rota.layers])

    @property
    def members(self) -> list[str]:
        seen: dict[str, None] = {}
        for layer in self.rota.layers:
            seen.update(dict.fromkeys(layer.members))
        for shift in self.imported:
            seen.setdefault(shift.user)
        return list(seen)

    def prepare(self, horizon: datetime) -> None:
        """Expand every layer up to `horizon` now (a question otherwise expands only the layers
        it reads, the first time it reaches them)."""
        for layer in self.layers:
            layer.grow(horizon)

    def from_layers(self, moment: datetime) -> Shift | None:
        """Who the layers (not the overrides) put on call at `moment`: the last layer wins."""
        for layer in reversed(self.layers):
            shift = layer.at(moment)
            if shift is not None:
                return shift
        for shift in self.imported:
            if shift.covers(moment):
                return shift
        return None

    def at(self, moment: datetime, overrides: Sequence[Override] = ()) -> Shift | None:
        """Who is on call at `moment` (UTC): the newest covering override, else the layers."""
        for override in sorted(overrides, key=lambda o: o.id, reverse=True):
            if override.start <= moment < override.end:
                return override.as_shift()
        return self.from_layers(moment)

    def shifts(self, start: datetime, end: datetime, overrides: Sequence[Override] = ()) -> list[Shift]:
        """The final timeline over [start, end): each piece with who is on call, gaps left out,
        neighbouring pieces of one person from one source joined. One sweep over the pieces'
        edges, each layer read through a cursor (it renders every schedule and feed)."""
        tiers = [layer.between(start, end) for layer in self.layers]
        tiers.insert(0, sorted((s for s in self.imported if s.end > start and s.start < end), key=lambda s: s.start))
        ovs = sorted((o for o in overrides if o.end > start and o.start < end), key=lambda o: o.id, reverse=True)
        bounds = {start, end}
        for tier in tiers:
            for shift in tier:
                bounds.update((shift.start, shift.end))
        for override in ovs:
            bounds.update((override.start, override.end))
        edges = sorted(b for b in bounds if start <= b <= end)
        cursors = [0] * len(tiers)
        out: list[Shift] = []
        for a, b in itertools.pairwise(edges):
            who = next((o.as_shift() for o in ovs if o.start <= a < o.end), None)
            for n in range(len(tiers) - 1, -1, -1):
                if who is not None:
                    break
                tier, p = tiers[n], cursors[n]
                while p < len(tier) and tier[p].end <= a:
                    p += 1
                cursors[n] = p
                if p < len(tier) and tier[p].start <= a:
                    who = tier[p]
            if who is None:
                continue
            if out and out[-1].end == a and out[-1].user == who.user and out[-1].layer == who.layer:
                out[-1] = Shift(out[-1].start, b, who.user, who.layer)
            else:
                out.append(Shift(a, b, who.user, who.layer))
        return out

    def next_change(
        self, moment: datetime, overrides: Sequence[Override] = (), within: timedelta = GROW
    ) -> datetime | None:
        """When who is on call next changes after `moment` (the next hand-off, or the start or end
        of a gap), looking `within` ahead; None when nothing changes in that time."""
        pieces = self.shifts(moment, moment + within, overrides)
        if not pieces:
            return None
        if pieces[0].start > moment:
            return pieces[0].start
        for before, after in itertools.pairwise(pieces):
            if after.start > before.end:
                return before.end
            if after.user != before.user:
                return after.start
        last = pieces[-1].end
        return last if last < moment + within else None

    def gaps(
        self, start: datetime, end: datetime, overrides: Sequence[Override] = ()
    ) -> list[tuple[datetime, datetime]]:
        """The stretches of [start, end) with nobody on call."""
        out: list[tuple[datetime, datetime]] = []
        cursor = start
        for shift in self.shifts(start, end, overrides):
            if shift.start > cursor:
                out.append((cursor, shift.start))
            cursor = max(cursor, shift.end)
        if cursor < end:
            out.append((cursor, end))
        return out


class RotaBook:
    """Every rota of one ops.yml, compiled once (a config reload builds a new book)."""

    def __init__(self, rotas: dict[str, Rota], default_tz: str) -> None:
        self.rotas = {role: CompiledRota.build(role, rota, default_tz) for role, rota in rotas.items()}

    def __contains__(self, role: object) -> bool:
        return role in self.rotas

    def __getitem__(self, role: str) -> CompiledRota:
        return self.rotas[role]

    def roles(self) -> Iterable[str]:
        return self.rotas.keys()
