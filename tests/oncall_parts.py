"""An ops.yml with a devops rota, and a runtime on it with time stopped: shared by the on-call tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from conftest import RuntimeFactory, base_config
from slack_emulator import SlackEmulator

from bot.app.runtime import Runtime
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

SCL = ZoneInfo("America/Santiago")

ROTA = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
    - {notify: tech_lead}
oncall:
  devops:
    timezone: America/Santiago
    layers:
      - name: daily
        members: [U0DEVOPS, U0DEVOPS2]
        rotation: daily
        handoff: "09:00"
        start: 2026-12-07
"""

SECOND_DEVOPS = "  - {role: devops, name: Pablo Soto, slack: U0DEVOPS2, email: pablo@example.com}\n"


def rota_config(hours: str | None = None, extra: str = "") -> str:
    """base_config with a second devops contact and a daily devops rota (U0DEVOPS first, from
    Monday 2026-12-07 09:00 Santiago time), covering `hours` of each day."""
    rota = ROTA + (f'        hours: "{hours}"\n' if hours else "")
    text = base_config(extra=rota + extra)
    return text.replace("contacts:\n", "contacts:\n" + SECOND_DEVOPS, 1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SCL).astimezone(UTC)  # type: ignore[misc]


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def start_pinned(
    make_runtime: RuntimeFactory, emu: SlackEmulator, db_url: str, text: str, now: datetime, **settings: Any
) -> tuple[Runtime, Clock, Clock]:
    """A runtime on `text` whose incident store and escalation worker each read a clock of the
    test's own (store first, worker second), both at `now`."""
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(text, database_url=db_url, notifier=notifier, **settings)
    store_clock, worker_clock = Clock(now), Clock(now)
    runtime.deps.incidents.clock = store_clock
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.clock = worker_clock
    runtime.deps.escalation.poll = 0.1
    return runtime, store_clock, worker_clock


Pinned = Callable[[], datetime]
