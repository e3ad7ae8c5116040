"""Every time shown says its zone once per message, the zone of ops.yml `timezone`: audit rows
and incident rows against the bot's real Postgres, formatted through bot/text/times.py."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from conftest import RuntimeFactory, base_config

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Result, Table
from bot.output.terminal import render_text

ADMIN = "U0ADMIN"


POLICY = """\
escalation:
  sev2:
    - {notify: devops}
    - {after: 10m, unless: acknowledged, notify: cto}
"""


def kolkata(locale: str = "en") -> str:
    """A zone whose offset is not whole hours: a time in UTC or in the server's zone cannot pass."""
    return base_config(locale=locale, extra=POLICY).replace("timezone: America/Santiago", "timezone: Asia/Kolkata")


async def ask(runtime: Runtime, text: str) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, ADMIN, "C1", "slack"))


def table(result: Result) -> Table:
    return next(b for b in result.blocks if isinstance(b, Table))


async def test_audit_times_are_in_the_configured_zone_said_once(
    make_runtime: RuntimeFactory, fresh_db_url: str
) -> None:
    runtime = await make_runtime(kolkata(), database_url=fresh_db_url)
    await ask(runtime, "help")
    result = await ask(runtime, "audit 5")
    rows = [r for r in await runtime.deps.audit.recent(5) if r.operation != "audit"]  # written after it answered
    zone = ZoneInfo("Asia/Kolkata")
    assert [row[0] for row in table(result).rows] == [f"{r.at.astimezone(zone):%m-%d %H:%M:%S}" for r in rows]
    text = render_text(result).text
    assert text.count("Asia/Kolkata") == 1 and "Times in Asia/Kolkata (UTC+05:30)." in text


async def test_incident_list_and_plan_times_say_their_zone_in_spanish(
    make_runtime: RuntimeFactory, fresh_db_url: str
) -> None:
    runtime = await make_runtime(kolkata("es"), database_url=fresh_db_url)
    declared = await ask(runtime, 'incident declare sev2 "pagos caídos"')
    assert declared.ok, declared.summary
    result = await ask(runtime, "incident list")
    (incident,) = await runtime.deps.incidents.recent()
    zone = ZoneInfo("Asia/Kolkata")
    assert table(result).rows[0][4] == f"{incident.declared_at.astimezone(zone):%m-%d %H:%M}"
    plan = render_text(declared).text
    later = max(s.due_at for s in await runtime.deps.incidents.steps(incident.id))
    assert f"a las {later.astimezone(zone):%Y-%m-%d %H:%M}" in plan, plan
    assert plan.count("Asia/Kolkata") == 1 and "Horas en Asia/Kolkata (UTC+05:30)." in plan
    text = render_text(result).text
    assert text.count("Asia/Kolkata") == 1 and "Horas en Asia/Kolkata (UTC+05:30)." in text
