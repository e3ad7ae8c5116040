"""Two things a config file can say that used to mean something else than it reads.

Hours: `00:00-24:00` read as never reachable (a sev2 page waited for midnight); now it is all
day, and `09:00-09:00` (start equal to end) is refused by check-config at its key and line.
Step `run:` lines are split without a shell, so `run: "a; b"` ran `a` with `;` and `b` as
arguments: check-config now refuses shell syntax there, with the `sh -c '…'` hint.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import base_config
from test_check_config import line_of, only_problem

from bot.config.hours import next_reachable, reachable
from bot.config.ops_yml import parse_config


def with_hours(hours: str) -> str:
    return base_config().replace('hours: "09:00-18:00"', f'hours: "{hours}"')


@pytest.mark.parametrize("moment", ["2026-03-01T00:00:00", "2026-03-01T03:30:00", "2026-03-01T23:59:59"])
def test_hours_00_00_to_24_00_are_all_day(moment: str) -> None:
    config = parse_config(with_hours("00:00-24:00"), env={})
    lead = config.contacts[0]
    at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    assert reachable(lead, at, "America/Santiago")
    assert next_reachable(lead, at, "America/Santiago") == at, "a sev2 page waits for nothing"
    assert str(lead.hours) == "00:00-24:00"


def test_hours_18_00_to_24_00_end_at_midnight() -> None:
    lead = parse_config(with_hours("18:00-24:00"), env={}).contacts[0]
    tz = "UTC"
    assert reachable(lead, datetime(2026, 3, 1, 23, 59, tzinfo=UTC), tz)
    assert not reachable(lead, datetime(2026, 3, 1, 0, 30, tzinfo=UTC), tz)
    assert not reachable(lead, datetime(2026, 3, 1, 17, 59, tzinfo=UTC), tz)


@pytest.mark.parametrize("hours", ["09:00-09:00", "00:00-00:00", "24:00-08:00", "18:00-24:30"])
def test_hours_that_would_never_be_reachable_are_refused_at_their_line(hours: str) -> None:
    text = with_hours(hours)
    problem = only_problem(text)
    assert problem.key == "contacts[0].hours", problem
    assert problem.line == line_of(text, hours)
    assert "00:00-24:00" in problem.message or "09:00-18:00" in problem.message, problem.message


def with_step(run: str) -> str:
    line = f"    migrate: {{service: api, run: {run}}}\n"
    return base_config().replace("  docker:\n", f"  steps:\n{line}  docker:\n", 1)


@pytest.mark.parametrize(
    ("run", "found"),
    [
        ('"npx prisma migrate deploy; echo done"', "';'"),
        ('"make migrate | tee out.log"', "'|'"),
        ('"make build && make deploy"', "'&&'"),
        ('"make migrate > /tmp/out"', "'>'"),
        ('"psql < seed.sql"', "'<'"),
        ('"echo $(date)"', "'$('"),
        ('"echo `date`"', "'`'"),
    ],
)
def test_shell_syntax_in_a_run_line_is_refused_at_its_key_and_line(run: str, found: str) -> None:
    text = with_step(run)
    problem = only_problem(text)
    assert problem.key == "stack.steps.migrate.run", problem
    assert problem.line == line_of(text, "migrate: {service")
    assert found in problem.message and "sh -c '…'" in problem.message, problem.message


@pytest.mark.parametrize(
    "run",
    ['"npx prisma migrate deploy"', "\"sh -c 'make migrate; echo done'\"", "'sh -c \"a | b\"'", r"'echo a\;b'"],
)
def test_a_run_line_without_shell_syntax_or_with_it_quoted_is_accepted(run: str) -> None:
    config = parse_config(with_step(run), env={})
    assert "migrate" in config.stack.steps
