"""Alert rules and the alert message's buttons, in-process on a real Postgres and the Slack emulator:
a `declare:` rule opens an incident linked both ways, once; Acknowledge and Declare are audited
operations that update the one message; when every alert resolves the incident's thread says so."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from conftest import RuntimeFactory, base_config
from slack_emulator import Call, SlackEmulator

from bot.alerts.payloads import parse
from bot.alerts.poster import matches
from bot.alerts.store import AlertStore
from bot.app.runtime import Runtime
from bot.config.ops_yml import AlertRule
from bot.core.dispatcher import Invocation
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
alerts:
  channel: C0ALERTS
  token: rules-test-token-0123456789abcdef
  rules:
    - match: {alertname: PaymentsFailing}
      declare: sev1
    - match: {alertname: "~Disk.*", severity: warning}
"""


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def start(make_runtime: RuntimeFactory, emu: SlackEmulator, db_url: str) -> Runtime:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(base_config(extra=POLICY), database_url=db_url, notifier=notifier)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.poll = 0.1
    return runtime


def webhook(name: str, status: str = "firing", severity: str = "critical") -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "status": status,
            "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "severity": severity},
            "commonAnnotations": {"summary": f"{name} summary"},
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": name, "severity": severity, "instance": "api-1"},
                    "annotations": {"summary": f"{name} summary"},
                    "startsAt": "2026-12-02T06:00:00Z",
                    "fingerprint": f"{name}-1",
                }
            ],
        }
    ).encode()


async def receive(runtime: Runtime, body: bytes) -> int:
    group, _ = await AlertStore(runtime.deps.db).record("alertmanager", parse("alertmanager", body), "C0ALERTS")
    return group.id


async def wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def texts(calls: list[Call]) -> list[str]:
    return [str(c.args.get("text", "")) + json.dumps(c.args.get("blocks") or []) for c in calls]


async def incidents(db_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url, timeout=5)
    try:
        return list(await conn.fetch("SELECT id, severity, title, declared_by FROM incidents ORDER BY id"))
    finally:
        await conn.close()


def test_rules_match_exact_values_and_regexes_first_rule_first() -> None:
    from bot.alerts.store import AlertGroup

    def group(labels: dict[str, str]) -> AlertGroup:
        now = __import__("datetime").datetime.now()
        return AlertGroup(
            1, "am", "k", "firing", labels, {}, {}, 1, 0, None, None, now, now, None, None, None, False, []
        )

    disk = AlertRule(match={"alertname": "~Disk.*", "severity": "warning"})
    assert matches(disk, group({"alertname": "DiskFull", "severity": "warning"}))
    assert not matches(disk, group({"alertname": "DiskFull", "severity": "critical"}))
    assert not matches(disk, group({"alertname": "NoDisk", "severity": "warning"})), "a regex matches whole values"
    assert not matches(AlertRule(match={"team": "blue"}), group({"alertname": "X"}))


async def test_a_declare_rule_opens_one_incident_linked_both_ways_and_says_when_alerts_resolve(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    group_id = await receive(runtime, webhook("PaymentsFailing"))
    await receive(runtime, webhook("PaymentsFailing"))  # a repeat: nothing new
    await wait_for(lambda: len([c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "C0ALERTS"]))
    await wait_for(
        lambda: any("Declared from the alert PaymentsFailing" in t for t in texts(emu.calls("chat.postMessage")))
    )
    found = await incidents(fresh_db_url)
    assert [(i["severity"], i["title"]) for i in found] == [("sev1", "PaymentsFailing: PaymentsFailing summary")]
    await wait_for(lambda: any("Incident INC-1" in t for t in texts(emu.calls("chat.update"))))
    group = await AlertStore(runtime.deps.db).get(group_id)
    assert group is not None and group.incident_id == 1 and group.rule_done

    await receive(runtime, webhook("PaymentsFailing", status="resolved"))
    await wait_for(
        lambda: any("Every alert of PaymentsFailing resolved" in t for t in texts(emu.calls("chat.postMessage")))
    )
    await asyncio.sleep(0.5)
    assert len(await incidents(fresh_db_url)) == 1, "the rule ran once"
    resolved_notes = [t for t in texts(emu.calls("chat.postMessage")) if "Every alert of PaymentsFailing" in t]
    assert len(resolved_notes) == 1
    incident = await runtime.deps.incidents.get(1)
    assert incident is not None and incident.state == "open", "resolving the incident stays a person's call"


async def test_acknowledge_and_declare_buttons_are_audited_and_update_the_one_message(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    group_id = await receive(runtime, webhook("DiskFull", severity="warning"))
    await wait_for(lambda: [c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "C0ALERTS"])
    acked = await runtime.dispatcher.dispatch(
        Invocation(f"/ops alerts ack {group_id}", "U0DEVOPS", "C0ALERTS", "button")
    )
    assert acked.ok, acked
    await wait_for(lambda: any("U0DEVOPS" in t and "is on it" in t for t in texts(emu.calls("chat.update"))))
    declared = await runtime.dispatcher.dispatch(
        Invocation(f"/ops alerts declare {group_id} sev1", "U0DEVOPS", "C0ALERTS", "button")
    )
    assert declared.ok and "INC-1" in declared.summary, declared
    again = await runtime.dispatcher.dispatch(Invocation(f"/ops alerts declare {group_id}", "U0DEVOPS", "C1", "slack"))
    assert not again.ok and "already has INC-1" in again.summary
    await wait_for(lambda: any("Incident INC-1" in t for t in texts(emu.calls("chat.update"))))
    posts = [
        c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "C0ALERTS" and not c.args.get("thread_ts")
    ]
    assert len(posts) == 1, "the same message is updated, never posted again"
    conn = await asyncpg.connect(fresh_db_url, timeout=5)
    try:
        audited = await conn.fetch(
            "SELECT operation, user_id FROM audit_log WHERE operation LIKE 'alerts %' ORDER BY id"
        )
    finally:
        await conn.close()
    assert [(r["operation"], r["user_id"]) for r in audited] == [
        ("alerts ack", "U0DEVOPS"),
        ("alerts declare", "U0DEVOPS"),
        ("alerts declare", "U0DEVOPS"),
    ]
    silence = await runtime.dispatcher.dispatch(
        Invocation(f"/ops alerts silence {group_id} 1h", "U0VIEW", "C1", "button")
    )
    assert not silence.ok and "operator" in silence.summary, "a viewer may not silence"


async def test_without_alertmanager_a_silence_says_so_and_changes_nothing(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    result = await runtime.dispatcher.dispatch(
        Invocation("/ops silence PaymentsFailing 2h deploy", "U0OPER", "C1", "slack")
    )
    assert not result.ok and "stack.alertmanager" in result.summary
    bad = await runtime.dispatcher.dispatch(Invocation("/ops silence PaymentsFailing 30d", "U0OPER", "C1", "slack"))
    assert not bad.ok and "at most 7d" in bad.summary


async def test_a_slack_that_posts_but_answers_after_the_timeout_gets_one_alert_message(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first post's answer comes after the notifier's timeout: the retry finds the message by its
    metadata marker in the channel and posts nothing again."""
    monkeypatch.setattr("bot.incidents.notify.SLACK_TIMEOUT", 1.0)
    monkeypatch.setattr("bot.alerts.poster.RETRY_SECONDS", 1)
    runtime = await start(make_runtime, emu, fresh_db_url)
    emu.slow(
        "chat.postMessage", 2.5, only=lambda c: c.args.get("channel") == "C0ALERTS" and not c.args.get("thread_ts")
    )
    group_id = await receive(runtime, webhook("DiskFull", severity="warning"))
    deadline = time.monotonic() + 20
    group = await AlertStore(runtime.deps.db).get(group_id)
    while (group is None or group.ts is None or group.posted_version < group.version) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        group = await AlertStore(runtime.deps.db).get(group_id)
    emu.slow("chat.postMessage", 0)
    assert group is not None and group.ts is not None
    posts = [
        c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "C0ALERTS" and not c.args.get("thread_ts")
    ]
    assert len(posts) == 1, f"{len(posts)} messages for one alert group"
    assert group.ts in emu.messages


async def test_declaring_an_alert_with_an_unknown_severity_is_refused_and_declares_nothing(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    group_id = await receive(runtime, webhook("DiskFull", severity="warning"))
    refused = await runtime.dispatcher.dispatch(
        Invocation(f"/ops alerts declare {group_id} sev9", "U0DEVOPS", "C0ALERTS", "button")
    )
    assert not refused.ok and refused.summary == "Unknown severity; use one of: sev1, sev2.", refused.summary
    assert await incidents(fresh_db_url) == []
    group = await AlertStore(runtime.deps.db).get(group_id)
    assert group is not None and group.incident_id is None
