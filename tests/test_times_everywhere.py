"""Every answer that shows a time shows it in ops.yml's `timezone` (or the contact's own, when the
text is about that contact) and says the zone once, with its offset: deploy history from a real git
checkout, `/ops silences` from a real Alertmanager, an alert's message posted to the Slack emulator,
the incident report's timeline and summary, the out-of-hours escalation notice, the live tail's
"until", and a real container's restart verdict. Asia/Kolkata (UTC+05:30) is the zone, so a time
left in UTC or in the server's zone, or rounded to whole hours, cannot pass by accident."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from confirm_flow import run_confirmed
from conftest import RuntimeFactory, base_config
from observability import start_alertmanager
from slack_emulator import SlackEmulator
from test_alert_rules import POLICY as ALERT_POLICY
from test_alert_rules import receive, webhook
from test_incident_report import markdown_of, timeline_rows
from test_incidents import FakeClock

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.incidents.notify import SlackNotifier, slack_client_for_notices
from bot.output.results import Result, Table
from bot.output.terminal import render_text
from bot.terminal.shell import Shell

KOLKATA = ZoneInfo("Asia/Kolkata")
NOTE_EN = "Times in Asia/Kolkata (UTC+05:30)."
LABEL = "Asia/Kolkata (UTC+05:30)"
ADMIN = "U0ADMIN"
OPERATOR = "U0OPER"


def kolkata(text: str) -> str:
    return text.replace("timezone: America/Santiago", "timezone: Asia/Kolkata", 1)


async def ask(runtime: Runtime, text: str, user: str = ADMIN, channel: str = "C1") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, channel, "slack"))


def table(result: Result) -> Table:
    return next(b for b in result.blocks if isinstance(b, Table))


def said_once(text: str, note: str = NOTE_EN) -> None:
    assert note in text, text
    assert text.count("Asia/Kolkata") == 1, f"the zone is said once per message: {text}"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


# ---- deploy history ---------------------------------------------------------------------


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=10, env=env
    )
    return done.stdout.strip()


@pytest.mark.parametrize(("locale", "note"), [("en", NOTE_EN), ("es", "Horas en Asia/Kolkata (UTC+05:30).")])
async def test_deploy_history_shows_commit_times_in_the_configured_zone(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, redis_prefix: str, locale: str, note: str
) -> None:
    repo = tmp_path / "pedidos"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.txt").write_text("v1\n")
    git(repo, "add", ".")
    committed = datetime(2026, 12, 2, 3, 40, tzinfo=UTC)  # 09:10 in Kolkata, 00:40 in Santiago
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_AUTHOR_DATE": committed.isoformat(),
        "GIT_COMMITTER_DATE": committed.isoformat(),
    }
    git(repo, "commit", "-q", "-m", "First version", env=env)
    config = kolkata(base_config(project=compose_project, locale=locale))
    text = config.replace("  docker:\n", f"  repo: {repo}\n  docker:\n", 1)
    runtime = await make_runtime(text, redis_prefix=f"{redis_prefix}history{locale}:")
    result = await ask(runtime, "deploy history 5", user="U0VIEW")
    assert result.ok, result.summary
    assert [row[1] for row in table(result).rows] == ["2026-12-02 09:10"]
    said_once(render_text(result).text, note)


# ---- /ops silences ----------------------------------------------------------------------


async def test_silences_end_times_are_in_the_configured_zone_not_utc(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    am = await start_alertmanager("http://127.0.0.1:9/alerts", "unused-token-0123456789")
    try:
        text = kolkata(base_config(project=compose_project)).replace(
            "stack:\n", f"stack:\n  alertmanager:\n    url: {am.url}\n    timeout: 3s\n", 1
        )
        runtime = await make_runtime(text, redis_prefix=f"{redis_prefix}silences:")
        made = await ask(runtime, "silence PaymentsFailing 2h", user=OPERATOR)
        assert made.ok, made.summary
        async with aiohttp.ClientSession() as http, http.get(f"{am.url}/api/v2/silences") as response:
            stored = [s for s in json.loads(await response.text()) if s["status"]["state"] == "active"]
        (silence,) = stored
        ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        result = await ask(runtime, "silences", user=OPERATOR)
        assert table(result).rows[0][3] == f"{ends.astimezone(KOLKATA):%Y-%m-%d %H:%M}"
        shown = render_text(result).text
        said_once(shown)
        assert " UTC" not in shown.replace("(UTC+05:30)", "")
    finally:
        am.stop()


# ---- the alert's own message ------------------------------------------------------------


async def test_an_alert_message_says_when_it_started_in_the_configured_zone(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(kolkata(base_config(extra=ALERT_POLICY)), database_url=fresh_db_url, notifier=notifier)
    await receive(runtime, webhook("DiskAlmostFull", severity="warning"))  # starts 2026-12-02T06:00:00Z
    (posted, *_) = await emu.wait_for(
        "chat.postMessage", timeout=15, predicate=lambda c: c.args.get("channel") == "C0ALERTS"
    )
    shown = str(posted.args.get("text", "")) + json.dumps(posted.args.get("blocks") or [], ensure_ascii=False)
    assert f"since 2026-12-02 11:30 {LABEL}" in shown, shown
    assert shown.count("Asia/Kolkata") == shown.count(f"since 2026-12-02 11:30 {LABEL}")  # once per rendering


# ---- the incident report ----------------------------------------------------------------

REPORT_POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
"""


async def test_the_report_timeline_and_summary_are_in_the_configured_zone_with_its_offset(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    config = kolkata(base_config(extra=REPORT_POLICY))
    runtime = await make_runtime(config, database_url=fresh_db_url, notifier=notifier)
    assert (await ask(runtime, "incident declare sev1 Checkout down", "U0BACKEND", "C0DEV")).ok
    report = await ask(runtime, "incident report INC-1", "U0DEVOPS", "C0INCIDENTS")
    assert report.ok, report.summary
    incident = await runtime.deps.incidents.get(1)
    assert incident is not None
    markdown = markdown_of(report)
    (declared,) = [row for row in timeline_rows(markdown) if "declared SEV1" in row[2]]
    assert declared[0] == f"{incident.declared_at.astimezone(KOLKATA):%Y-%m-%d %H:%M:%S}"
    assert f"Times in {LABEL}." in markdown and markdown.count("Asia/Kolkata") == 1, "the file says its zone once"
    summary = render_text(report).text
    assert f"{incident.declared_at.astimezone(KOLKATA):%H:%M:%S} " in summary, summary
    assert f"times in {LABEL}:" in summary, summary


# ---- escalation notices: the contact's own zone -----------------------------------------

HOURS_POLICY = """\
escalation:
  sev2:
    - {notify: tech_lead}
"""


async def test_the_out_of_hours_notice_is_in_the_contacts_own_zone(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    """The bot's zone is Santiago; the tech lead works 09:00-18:00 in Kolkata: the notice says
    when she is paged in her zone (and only hers), where a Santiago time would mislead her."""
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    config = base_config(extra=HOURS_POLICY).replace(
        'hours: "09:00-18:00"}', 'hours: "09:00-18:00", timezone: Asia/Kolkata}', 1
    )
    runtime = await make_runtime(config, database_url=fresh_db_url, notifier=notifier)
    clock = FakeClock(datetime(2026, 11, 27, 22, 0, tzinfo=KOLKATA).astimezone(UTC))
    runtime.deps.incidents.clock = clock
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.clock = clock
    runtime.deps.escalation.poll = 0.1
    assert (await ask(runtime, "incident declare sev2 Reports slow", "U0BACKEND", "C0DEV")).ok
    (notice, *_) = await emu.wait_for(
        "chat.postMessage", timeout=10, predicate=lambda c: "outside working hours" in str(c.args.get("text", ""))
    )
    text = str(notice.args["text"])
    assert f"2026-11-28 09:00 {LABEL}" in text, text
    assert "Santiago" not in text and text.count("Asia/Kolkata") == 1


# ---- the live tail's "until" ------------------------------------------------------------


async def test_the_live_tail_says_until_when_in_the_configured_zone(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    runtime = await make_runtime(kolkata(base_config(project=compose_project)), redis_prefix=f"{redis_prefix}tail:")
    out = io.StringIO()
    before = datetime.now(UTC)
    result = await Shell(runtime, OPERATOR, out=out).run_one("/ops logs api --follow 2s")
    after = datetime.now(UTC)
    assert result.ok, result.summary
    printed = out.getvalue()
    found = re.search(r"until (\d\d):(\d\d):(\d\d) Asia/Kolkata \(UTC\+05:30\)", printed)
    assert found, printed
    hh, mm, ss = (int(g) for g in found.groups())
    low = (before + timedelta(seconds=2)).astimezone(KOLKATA).replace(microsecond=0)
    high = (after + timedelta(seconds=2)).astimezone(KOLKATA)
    until = low.replace(hour=hh, minute=mm, second=ss)
    if until < low - timedelta(hours=12):  # the tail crossed midnight
        until += timedelta(days=1)
    assert low <= until <= high, (until, low, high)


# ---- a container's restart verdict ------------------------------------------------------


async def test_the_restart_verdict_gives_the_new_start_time_in_the_configured_zone(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    runtime = await make_runtime(kolkata(base_config(project=compose_project)), redis_prefix=f"{redis_prefix}rst:")
    done = await run_confirmed(runtime, "restart redis", ADMIN)
    assert done.ok, done.summary
    shown = render_text(done).text
    started = await asyncio.to_thread(
        subprocess.run,
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", f"{compose_project}-redis-1"],
        capture_output=True,
        text=True,
        check=True,
    )
    at = datetime.fromisoformat(started.stdout.strip()[:26].rstrip("Z") + "+00:00")
    assert f"started {at.astimezone(KOLKATA):%H:%M:%S} {LABEL}" in shown, shown
    assert shown.count("Asia/Kolkata") == 1 and "UTC)" not in shown


# ---- escalation notices: "late, Slack did not answer from …" ----------------------------

DEVOPS_ONLY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
"""


@pytest.mark.timeout(120)
async def test_a_late_page_says_since_when_slack_was_away_in_the_configured_zone(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(kolkata(base_config(extra=DEVOPS_ONLY)), database_url=fresh_db_url, notifier=notifier)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.poll = 0.2
    await emu.close_port()
    closed = datetime.now(UTC)
    assert (await ask(runtime, "incident declare sev1 Payments down", "U0BACKEND", "C0DEV")).ok
    await asyncio.sleep(7.0)  # longer than the 5 s after which a page says it is late
    reopened = datetime.now(UTC)
    await emu.reopen_port()
    await emu.wait_for("chat.postMessage", timeout=20, predicate=lambda c: "Paged" in str(c.args.get("text")))
    line = next(str(c.args["text"]) for c in emu.calls("chat.postMessage") if "Paged" in str(c.args.get("text")))
    found = re.search(r"Slack did not answer from (\d\d:\d\d:\d\d) Asia/Kolkata \(UTC\+05:30\)", line)
    assert found, line
    seconds = {
        f"{closed.astimezone(KOLKATA) + timedelta(seconds=s):%H:%M:%S}"
        for s in range(int((reopened - closed).total_seconds()) + 1)
    }
    assert found.group(1) in seconds, (found.group(1), sorted(seconds))
    assert line.count("Asia/Kolkata") == 1
