"""A daily job runs exactly once on each daylight-saving night, with the clock pinned.

The scheduler runs for real (claims in the bot's Postgres, `run_job`'s loop) against a clock
that only moves when the scheduler sleeps, through both transition nights of two zones:
Santiago, whose clocks go back at midnight (23:30 happens twice on 4 April 2026) and forward
on 6 September; Madrid, back at 03:00 on 25 October (02:30 twice) and forward on 29 March
(02:30 never happens). Before, `30 23 * * *` ran twice on the Santiago April night.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import RuntimeFactory, base_config

from bot.core.context import OpContext
from bot.jobs.scheduler import ScheduledJob, Scheduler
from bot.output.results import Result

pytestmark = pytest.mark.timeout(60)


class PinnedClock:
    """Time stands still until the scheduler sleeps; then it moves by exactly that much."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    async def sleep(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("zone", "cron", "start", "nights"),
    [
        ("America/Santiago", "30 23 * * *", datetime(2026, 4, 3, 12, tzinfo=UTC), ["04-03", "04-04", "04-05"]),
        ("America/Santiago", "30 23 * * *", datetime(2026, 9, 4, 12, tzinfo=UTC), ["09-04", "09-05", "09-06"]),
        ("Europe/Madrid", "30 2 * * *", datetime(2026, 10, 23, 12, tzinfo=UTC), ["10-24", "10-25", "10-26"]),
        ("Europe/Madrid", "30 2 * * *", datetime(2026, 3, 27, 12, tzinfo=UTC), ["03-28", "03-29", "03-30"]),
    ],
)
async def test_a_daily_job_runs_once_on_each_daylight_saving_night(
    zone: str, cron: str, start: datetime, nights: list[str], fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await make_runtime(
        base_config().replace("timezone: America/Santiago", f"timezone: {zone}"), database_url=fresh_db_url
    )
    clock = PinnedClock(start)
    ran: list[datetime] = []

    async def job(ctx: OpContext) -> Result:
        ran.append(clock.now())
        return Result(title="nightly", blocks=[], summary="ok")

    nightly = ScheduledJob("nightly", lambda config: cron, job)

    async def quiet(notice: object) -> None:
        return None

    scheduler = Scheduler(runtime.deps, jobs={"nightly": nightly}, clock=clock, notify=quiet)
    await scheduler.run_job(nightly, max_runs=3)

    tz = ZoneInfo(zone)
    local = [moment.astimezone(tz) for moment in ran]
    assert [f"{m:%m-%d}" for m in local] == nights, [m.isoformat() for m in local]
    assert Counter(f"{m:%m-%d}" for m in local).most_common(1)[0][1] == 1
    async with runtime.deps.db.connection() as conn:
        slots = await conn.fetchval("SELECT count(*) FROM scheduled_runs WHERE job = 'nightly'")
    assert slots == 3
