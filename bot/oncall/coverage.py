"""The hours of the coming days that no rota layer covers (gaps), for check-config and the
rota channel's warning. Overrides are not seen here (they live in the database): a gap an
override fills is still listed by check-config, which reads ops.yml alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.oncall.rota import Override, RotaBook

LOOKAHEAD = timedelta(days=7)


@dataclass(frozen=True)
class Gap:
    role: str
    start: datetime
    end: datetime


def coming_gaps(
    book: RotaBook, now: datetime, within: timedelta = LOOKAHEAD, overrides: dict[str, Sequence[Override]] | None = None
) -> list[Gap]:
    """Every stretch of [now, now + within) with nobody on call, rota by rota."""
    gaps: list[Gap] = []
    for role in sorted(book.roles()):
        rota = book[role]
        for start, end in rota.gaps(now, now + within, (overrides or {}).get(role, ())):
            gaps.append(Gap(role, start, end))
    return gaps
