"""`ops-bot serve` on a new bot database starts quietly: no worker warns about tables that the
migrations are about to create.

The escalation worker and the alert poster used to start with the bot and read their tables at
once; on a new database that was before the background migration had made them, so every first
start logged `escalation worker: bot database unavailable (relation "escalation_steps" does not
exist); retrying` and the same from the alert poster — a warning a tired person cannot tell
from a real outage. Both now start once the schema is ready. The test runs the real `ops-bot
serve` on a database of its own that nobody migrated, then proves both workers do run (a page
goes out, an alert is posted) and that stderr holds no warning at all (slack_bolt's line
about `client` and `token`, which it printed at every start, is filtered: bot/slack/app.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botproc import BotLauncher
from conftest import base_config
from e2e import slash
from slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(90)

TOKEN = "alerts-token-for-the-startup-test-0123"
CONFIG_EXTRA = f"""\
escalation:
  sev1:
    - {{notify: devops, on_call: true}}
alerts:
  channel: C0ALERTS
  token: {TOKEN}
"""


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


def alert() -> str:
    """One firing Alertmanager group (webhook payload version 4)."""
    labels = {"alertname": "StartupCheck", "severity": "warning"}
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="StartupCheck"}',
            "status": "firing",
            "receiver": "opsbot",
            "groupLabels": {"alertname": "StartupCheck"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "startup check"},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": "startup check"},
                    "startsAt": "2026-12-02T06:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "fpstartup",
                }
            ],
        }
    )


async def test_serve_on_a_new_database_starts_its_workers_after_the_schema_and_warns_of_nothing(
    tmp_path: Path, emu: SlackEmulator, fresh_db_url: str, redis_prefix: str
) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(base_config(extra=CONFIG_EXTRA), encoding="utf-8")
    async with BotLauncher(tmp_path) as bots:
        bot = await bots.serve(
            path, emu.api_url, fresh_db_url, migrate=False, extra_env={"REDIS_PREFIX": f"{redis_prefix}startup:"}
        )
        await bot.wait_for_output(re.compile(r"applied migrations \[1"), 20, stream="stderr")

        sent = await slash(bot, emu, "incident declare sev1 Pagos caídos", "U0OPER")
        assert sent.status == 200
        page = lambda: any(c.args.get("channel") == "DU0DEVOPS" for c in emu.calls("chat.postMessage"))  # noqa: E731
        await until(page, 20, "the escalation worker paged the on-call devops")

        status, _, _ = await bot.request(
            "POST",
            "/alerts/alertmanager",
            alert(),
            {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert status in (200, 202)
        posted = lambda: any(c.args.get("channel") == "C0ALERTS" for c in emu.calls("chat.postMessage"))  # noqa: E731
        await until(posted, 20, "the alert poster posted the alert group")

        stderr = bot.stderr()
    warnings = [line for line in stderr.splitlines() if re.search(r" (WARNING|ERROR) ", line)]
    assert warnings == [], stderr
    assert "does not exist" not in stderr and "Traceback" not in stderr, stderr
