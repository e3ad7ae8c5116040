"""The rota engine: each rotation kind, layers, hours, overrides, gaps, and daylight-saving
changes, with pinned instants (the engine has no clock of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.ops_yml import Rota
from bot.oncall.rota import CompiledRota, Override

SCL = ZoneInfo("America/Santiago")
A, B, C = "U0AAA", "U0BBB", "U0CCC"


def rota(*layers: dict[str, object], tz: str = "America/Santiago") -> CompiledRota:
    return CompiledRota.build("devops", Rota.model_validate({"timezone": tz, "layers": list(layers)}), "UTC")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SCL).astimezone(UTC)  # type: ignore[misc]


def who(r: CompiledRota, moment: datetime, overrides: list[Override] | None = None) -> str | None:
    shift = r.at(moment, overrides or [])
    return shift.user if shift else None


def test_weekly_rotation_hands_off_on_its_day_and_time_in_turn() -> None:
    r = rota({"name": "w", "members": [A, B], "rotation": "weekly", "handoff": "mon 09:00", "start": "2026-12-07"})
    assert who(r, local(2026, 12, 7, 8, 59)) is None  # before the first shift: a gap
    assert who(r, local(2026, 12, 7, 9, 0)) == A
    assert who(r, local(2026, 12, 14, 8, 59)) == A
    assert who(r, local(2026, 12, 14, 9, 0)) == B
    assert who(r, local(2026, 12, 21, 9, 0)) == A


def test_weekly_start_on_another_day_waits_for_the_handoff_day() -> None:
    r = rota({"name": "w", "members": [A, B], "handoff": "wed 10:00", "start": "2026-12-07"})
    assert who(r, local(2026, 12, 9, 9, 59)) is None
    assert who(r, local(2026, 12, 9, 10, 0)) == A
    assert who(r, local(2026, 12, 16, 10, 0)) == B


def test_daily_rotation() -> None:
    r = rota({"name": "d", "members": [A, B, C], "rotation": "daily", "handoff": "08:30", "start": "2026-12-01"})
    assert [who(r, local(2026, 12, d, 12, 0)) for d in (1, 2, 3, 4)] == [A, B, C, A]
    assert who(r, local(2026, 12, 2, 8, 29)) == A


def test_rrule_rotation_every_two_weeks_lasts_until_the_next_occurrence() -> None:
    r = rota({"name": "fortnight", "members": [A, B], "rotation": "FREQ=WEEKLY;INTERVAL=2", "start": "2026-12-07"})
    assert who(r, local(2026, 12, 7, 9, 0)) == A
    assert who(r, local(2026, 12, 20, 23, 0)) == A
    assert who(r, local(2026, 12, 21, 9, 0)) == B


def test_rrule_naming_days_covers_those_days_only_with_night_hours_past_midnight() -> None:
    # the spec's "weekend nights": Sat and Sun, 20:00-08:00, each night to its own 08:00
    r = rota({"name": "wn", "members": [C], "rotation": "FREQ=WEEKLY;BYDAY=SA,SU", "hours": "20:00-08:00"})
    assert who(r, local(2026, 12, 12, 19, 59)) is None  # Saturday before 20:00
    assert who(r, local(2026, 12, 12, 20, 0)) == C
    assert who(r, local(2026, 12, 13, 7, 59)) == C  # Sunday morning, Saturday's night
    assert who(r, local(2026, 12, 13, 8, 0)) is None
    assert who(r, local(2026, 12, 14, 7, 0)) == C  # Monday morning, Sunday's night
    assert who(r, local(2026, 12, 14, 21, 0)) is None  # Monday night is not a weekend night
    assert who(r, local(2026, 12, 11, 21, 0)) is None  # nor Friday's


def test_weekly_layer_with_day_hours_covers_each_day_of_the_shift() -> None:
    r = rota({"name": "w", "members": [A, B], "handoff": "mon 09:00", "start": "2026-12-07", "hours": "09:00-18:00"})
    assert who(r, local(2026, 12, 8, 12, 0)) == A
    assert who(r, local(2026, 12, 8, 19, 0)) is None
    assert who(r, local(2026, 12, 14, 12, 0)) == B


def test_a_later_layer_wins_where_it_has_a_shift() -> None:
    r = rota(
        {"name": "weekly", "members": [A, B], "handoff": "mon 09:00", "start": "2026-12-07"},
        {"name": "wn", "members": [C], "rotation": "FREQ=WEEKLY;BYDAY=SA,SU", "hours": "20:00-08:00"},
    )
    assert who(r, local(2026, 12, 12, 12, 0)) == A
    assert who(r, local(2026, 12, 12, 22, 0)) == C
    assert who(r, local(2026, 12, 13, 9, 0)) == A
    kinds = [(s.user, s.layer) for s in r.shifts(local(2026, 12, 12, 0, 0), local(2026, 12, 13, 12, 0))]
    assert kinds == [(A, "weekly"), (C, "wn"), (A, "weekly")]


def test_overrides_win_over_every_layer_and_the_newest_wins_an_overlap() -> None:
    r = rota(
        {"name": "weekly", "members": [A, B], "handoff": "mon 09:00", "start": "2026-12-07"},
        {"name": "wn", "members": [C], "rotation": "FREQ=WEEKLY;BYDAY=SA,SU", "hours": "20:00-08:00"},
    )
    first = Override(1, local(2026, 12, 12, 18, 0), local(2026, 12, 13, 6, 0), B)
    newer = Override(2, local(2026, 12, 12, 23, 0), local(2026, 12, 13, 1, 0), A)
    assert who(r, local(2026, 12, 12, 22, 0), [first, newer]) == B
    assert who(r, local(2026, 12, 13, 0, 0), [first, newer]) == A
    assert who(r, local(2026, 12, 13, 6, 30), [first, newer]) == C  # back to the layer after it


def test_gaps_and_next_change() -> None:
    r = rota({"name": "d", "members": [A, B], "rotation": "daily", "handoff": "09:00", "hours": "09:00-18:00"})
    day = local(2026, 12, 8, 0, 0)
    assert r.gaps(day, day + timedelta(days=1)) == [
        (day, local(2026, 12, 8, 9, 0)),
        (local(2026, 12, 8, 18, 0), day + timedelta(days=1)),
    ]
    assert r.next_change(local(2026, 12, 8, 10, 0)) == local(2026, 12, 8, 18, 0)
    assert r.next_change(local(2026, 12, 8, 19, 0)) == local(2026, 12, 9, 9, 0)


def test_daily_handoff_stays_nine_local_when_santiago_falls_back() -> None:
    # 2027-04-04 00:00 -03 becomes 2027-04-03 23:00 -04: that shift is 25 h long
    r = rota({"name": "d", "members": [A, B], "rotation": "daily", "handoff": "09:00", "start": "2027-04-01"})
    shifts = r.shifts(local(2027, 4, 3, 9, 0), local(2027, 4, 5, 9, 0))
    assert [s.start.astimezone(SCL).strftime("%d %H:%M %z") for s in shifts] == ["03 09:00 -0300", "04 09:00 -0400"]
    assert shifts[0].end - shifts[0].start == timedelta(hours=25)
    assert shifts[0].start == datetime(2027, 4, 3, 12, 0, tzinfo=UTC)
    assert shifts[1].start == datetime(2027, 4, 4, 13, 0, tzinfo=UTC)


def test_daily_handoff_stays_nine_local_when_santiago_springs_forward() -> None:
    # 2027-09-05 00:00 -04 becomes 01:00 -03: that shift is 23 h long
    r = rota({"name": "d", "members": [A, B], "rotation": "daily", "handoff": "09:00", "start": "2027-09-01"})
    shifts = r.shifts(local(2027, 9, 4, 9, 0), local(2027, 9, 6, 9, 0))
    assert [s.start.astimezone(SCL).strftime("%d %H:%M %z") for s in shifts] == ["04 09:00 -0400", "05 09:00 -0300"]
    assert shifts[0].end - shifts[0].start == timedelta(hours=23)
    assert shifts[1].start == datetime(2027, 9, 5, 12, 0, tzinfo=UTC)


def test_a_midnight_handoff_on_the_missing_hour_starts_when_the_clock_resumes() -> None:
    r = rota({"name": "d", "members": [A, B], "rotation": "daily", "handoff": "00:00", "start": "2027-09-01"})
    on_the_night = [s for s in r.shifts(local(2027, 9, 4, 12), local(2027, 9, 5, 12)) if s.start.day == 5]
    assert on_the_night[0].start == datetime(2027, 9, 5, 4, 0, tzinfo=UTC)  # 01:00 -03, no 00:00 that night
    assert on_the_night[0].start.astimezone(SCL).hour == 1


def test_without_start_turns_count_from_a_fixed_monday_so_every_replica_agrees() -> None:
    one = rota({"name": "w", "members": [A, B]})
    two = rota({"name": "w", "members": [A, B]})
    moment = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
    assert who(one, moment) == who(two, moment)
    # 2024-01-01 09:00 is the first shift (A); 2026-12-07 is 153 weeks later: odd, so B
    assert who(one, moment) == B


def test_a_year_later_is_expanded_on_demand() -> None:
    r = rota({"name": "d", "members": [A, B], "rotation": "daily", "start": "2026-01-01"})
    assert who(r, local(2030, 1, 1, 12, 0)) == (A if (datetime(2030, 1, 1) - datetime(2026, 1, 1)).days % 2 == 0 else B)
