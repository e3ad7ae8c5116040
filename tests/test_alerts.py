"""Alerts in, with the real peers: Prometheus scrapes a gauge we move, evaluates a rule and sends
to a real Alertmanager, which posts to a real `ops-bot serve`. One living message per alert
group: posted once, repeats and a second replica post nothing new, the resolution updates the
same message; silences are real Alertmanager silences; a wrong token posts nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from botproc import BotLauncher, BotProcess
from conftest import base_config
from e2e import answer, click, slash
from exporter import Exporter, start_exporter
from observability import Peer, Silences, notifications_sent, start_alertmanager, start_prometheus
from slack_emulator import Call, SlackEmulator
from targets import free_port

pytestmark = pytest.mark.timeout(150)

TOKEN = "alerts-token-for-the-tests-0123456789"
ALERTS_CHANNEL = "C0ALERTS"
OPERATOR = "U0OPER"
RULES = """\
groups:
  - name: opsbot-test
    rules:
      - alert: CacheHitRateLow
        expr: cache_hit_rate < 0.5
        labels: {severity: critical}
        annotations:
          summary: "Cache hit rate is low"
          description: "The API's cache hit rate fell under 50 %."
          runbook_url: https://runbook.example/cache
"""


def config_text(api_url: str, alertmanager_url: str | None, rules: str = "", prometheus_url: str | None = None) -> str:
    text = base_config(api_url=api_url)
    if alertmanager_url:
        text = text.replace("stack:\n", f"stack:\n  alertmanager:\n    url: {alertmanager_url}\n    timeout: 3s\n", 1)
    if prometheus_url:
        text = text.replace("stack:\n", f"stack:\n  prometheus:\n    url: {prometheus_url}\n    timeout: 3s\n", 1)
    return text + f"alerts:\n  channel: {ALERTS_CHANNEL}\n  token: {TOKEN}\n" + (f"  rules:\n{rules}" if rules else "")


def top_level(emu: SlackEmulator) -> list[Call]:
    return [
        c
        for c in emu.calls("chat.postMessage")
        if c.args.get("channel") == ALERTS_CHANNEL and not c.args.get("thread_ts")
    ]


def top_ts(emu: SlackEmulator) -> str:
    """The ts Slack gave the alert's one message."""
    (ts,) = [ts for ts, m in emu.messages.items() if m.get("channel") == ALERTS_CHANNEL and not m.get("thread_ts")]
    return str(ts)


def shown(call: Call) -> str:
    return str(call.args.get("text", "")) + json.dumps(call.args.get("blocks") or [])


async def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


async def post_webhook(url: str, body: Any, token: str | None = TOKEN, source: str = "alertmanager") -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/alerts/{source}", data=data, headers=headers) as response,
    ):
        return response.status, await response.text()


async def group_rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        return list(await conn.fetch("SELECT * FROM alert_groups ORDER BY id"))
    finally:
        await conn.close()


def payload(status: str = "firing", *, key: str = '{}:{alertname="PaymentsFailing"}', count: int = 2) -> dict[str, Any]:
    """An Alertmanager webhook (payload version 4) as its documentation shows it."""
    alerts = [
        {
            "status": status,
            "labels": {"alertname": "PaymentsFailing", "severity": "critical", "instance": f"api-{n}"},
            "annotations": {"summary": "Payments are failing", "runbook_url": "https://runbook.example/payments"},
            "startsAt": "2026-12-02T06:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-02T06:12:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=payments_failed_total+%3E+0",
            "fingerprint": f"fp{n}",
        }
        for n in range(count)
    ]
    return {
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "opsbot",
        "groupLabels": {"alertname": "PaymentsFailing"},
        "commonLabels": {"alertname": "PaymentsFailing", "severity": "critical"},
        "commonAnnotations": {"summary": "Payments are failing"},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


GRAFANA = {  # the example body of Grafana's webhook notifier documentation
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        }
    ],
    "groupLabels": {},
    "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": '{}:{alertname="High memory usage"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High memory usage (blue us-1)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = High memory usage",
}


@pytest.fixture
def env(redis_prefix: str) -> dict[str, str]:
    """This run's own Redis key prefix: the duplicate check must not meet another run's keys."""
    return {"REDIS_PREFIX": f"{redis_prefix}alerts:"}


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[BotLauncher]:
    async with BotLauncher(tmp_path) as bots:
        yield bots


async def test_prometheus_and_alertmanager_make_one_living_message_updated_to_resolved(
    tmp_path: Path, fresh_db_url: str, launcher: BotLauncher, env: dict[str, str]
) -> None:
    exporter = Exporter(cache_hit_rate=0.93)
    exporter.per_scrape = [("GET", "/orders", "200", 0.07, 5), ("GET", "/orders", "200", 0.3, 1)]
    api = await start_exporter(exporter)
    peers: list[Peer] = []
    am_port, prom_port = free_port(), free_port()
    try:
        async with SlackEmulator() as emu:
            config = tmp_path / "ops.yml"
            rules = "    - match: {alertname: CacheHitRateLow}\n      diagnose: api\n"
            prom_url = f"http://127.0.0.1:{prom_port}"
            config.write_text(config_text(api.url, f"http://127.0.0.1:{am_port}", rules, prom_url), encoding="utf-8")
            bot = await launcher.serve(config, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)
            am = await start_alertmanager(f"{bot.url}/alerts/alertmanager", TOKEN, port=am_port)
            peers.append(am)
            prom = await start_prometheus(api.url.removeprefix("http://").split("/")[0], am.url, RULES, prom_port)
            peers.append(prom)

            exporter.cache.set(0.1)  # the gauge falls: the rule fires
            await wait_until(lambda: top_level(emu), 40, "the alert's message")
            (message,) = top_level(emu)
            text = shown(message)
            assert "CacheHitRateLow" in text and "critical" in text and "Cache hit rate is low" in text
            assert "https://runbook.example/cache" in text and "1 firing" in text
            first = await notifications_sent(am)
            for _ in range(60):  # repeat_interval is 3 s: two more notifications within 30 s
                if await notifications_sent(am) >= first + 2:
                    break
                await asyncio.sleep(0.5)
            assert await notifications_sent(am) >= first + 2, "Alertmanager repeated the notification"
            await asyncio.sleep(1.0)
            assert len(top_level(emu)) == 1, "repeats post nothing new"
            ts = top_ts(emu)
            await wait_until(
                lambda: any(
                    "Diagnose" in shown(c) or "diagnose" in shown(c)
                    for c in emu.calls("chat.postMessage")
                    if c.args.get("thread_ts") == ts
                ),
                30,
                "the rule's diagnose in the alert's thread",
            )

            await wait_until(lambda: [f for f in emu.files if f.thread_ts == ts], 30, "the alert's chart")
            (chart,) = [f for f in emu.files if f.thread_ts == ts]
            assert_png(chart.content)

            typed = await slash(bot, emu, "metrics latency --chart 5m", OPERATOR)
            charted = await answer(emu, typed, lambda t: "Prometheus" in t or "Charts need" in t, timeout=60)
            assert "latency over the last 5 min from Prometheus: 3 lines" in charted.text, charted.text
            await wait_until(lambda: [f for f in emu.files if f.name.startswith("latency-")], 15, "the latency chart")
            assert_png(next(f for f in emu.files if f.name.startswith("latency-")).content)

            exporter.cache.set(0.93)  # back up: resolved
            await wait_until(
                lambda: any("Resolved after" in shown(c) for c in emu.calls("chat.update")), 40, "resolved update"
            )
            updates = [c for c in emu.calls("chat.update") if "Resolved after" in shown(c)]
            assert all(c.args["ts"] == ts for c in updates), "the same message is updated"
            assert "~" in shown(updates[-1]), "the resolved alert is struck through"
            assert len(top_level(emu)) == 1

            # The Silence button of the message makes a real silence, created by the clicker.
            silence_button = next(v for v in button_values(message) if " alerts silence " in v)
            clicked = await click(bot, emu, silence_button, OPERATOR)
            said = await answer(emu, clicked, lambda t: "Silenced" in t or "refused" in t or "needs" in t)
            assert "Silenced alertname=CacheHitRateLow" in said.text, said.text
            active = await Silences(am.url).active()
            assert [s["createdBy"] for s in active] == [OPERATOR]
            assert {"name": "alertname", "value": "CacheHitRateLow", "isRegex": False, "isEqual": True} in active[0][
                "matchers"
            ]
            listed = await slash(bot, emu, "silences", OPERATOR)
            shown_list = await answer(emu, listed, lambda t: "Active silences" in t)
            assert OPERATOR in shown_list.text and "Expire" in json.dumps(shown_list.call.args.get("blocks"))
    finally:
        for peer in reversed(peers):
            peer.stop()
        await api.close()


def assert_png(content: bytes) -> None:
    """A real PNG of Slack's preview size: matplotlib reads it back as 800 × 350 pixels."""
    import io

    import matplotlib.image

    assert content[:8] == b"\x89PNG\r\n\x1a\n", content[:40]
    assert 5_000 < len(content) < 500_000, len(content)
    height, width = matplotlib.image.imread(io.BytesIO(content), format="png").shape[:2]
    assert (width, height) == (800, 350)


def button_values(call: Call) -> list[str]:
    values = []
    for block in call.args.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                values.append(str(element.get("value")))
    return values


async def test_the_same_webhook_at_two_replicas_and_its_repeats_make_one_message(
    tmp_path: Path, fresh_db_url: str, launcher: BotLauncher, env: dict[str, str]
) -> None:
    async with SlackEmulator() as emu:
        config = tmp_path / "ops.yml"
        config.write_text(config_text("http://127.0.0.1:9", None), encoding="utf-8")
        bots: list[BotProcess] = [
            await launcher.serve(config, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env) for _ in range(2)
        ]
        firing = payload()
        answers = await asyncio.gather(*(post_webhook(b.url or "", firing) for b in bots for _ in range(5)))
        assert [status for status, _ in answers] == [200] * 10, answers
        await wait_until(lambda: top_level(emu), 15, "the alert's message")
        await asyncio.sleep(1.5)
        assert len(top_level(emu)) == 1, [shown(c) for c in top_level(emu)]
        assert "2 firing" in shown(top_level(emu)[0])
        rows = await group_rows(fresh_db_url)
        assert len(rows) == 1 and rows[0]["version"] == 1, "repeats changed nothing"

        status, _ = await post_webhook(bots[1].url or "", payload("resolved"))
        assert status == 200
        await wait_until(lambda: any("Resolved after" in shown(c) for c in emu.calls("chat.update")), 15, "update")
        assert len(top_level(emu)) == 1

        def thread_says_resolved() -> bool:  # sent beside the update, not after it
            thread = [c for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")]
            return any("resolved: instance=api-0" in shown(c) for c in thread)

        await wait_until(thread_says_resolved, 15, "the change as a line in the thread")
        assert len(top_level(emu)) == 1


async def test_a_grafana_alert_works_the_same_and_bad_senders_post_nothing(
    tmp_path: Path, fresh_db_url: str, launcher: BotLauncher, env: dict[str, str]
) -> None:
    async with SlackEmulator() as emu:
        config = tmp_path / "ops.yml"
        config.write_text(config_text("http://127.0.0.1:9", None), encoding="utf-8")
        bot = await launcher.serve(config, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)
        url = bot.url or ""
        assert (await post_webhook(url, payload(), token=None))[0] == 401
        assert (await post_webhook(url, payload(), token="wrong-token-0123456789abcdef"))[0] == 401
        status, body = await post_webhook(url, {"version": "4", "status": "firing"})
        assert status == 400 and "groupKey" in body and "Traceback" not in body
        status, body = await post_webhook(url, b"{not json")
        assert status == 400 and len(body) < 300
        assert (await post_webhook(url, b"x" * (1024 * 1024 + 10)))[0] == 413
        await asyncio.sleep(1.0)
        assert top_level(emu) == [] and await group_rows(fresh_db_url) == []

        status, _ = await post_webhook(url, GRAFANA, source="grafana")
        assert status == 200
        await wait_until(lambda: top_level(emu), 15, "the Grafana alert's message")
        text = shown(top_level(emu)[0])
        assert "High memory usage" in text and "This alert was triggered for zone us-1" in text
        assert "https://myrunbook.com/runbook/1234" in text

        listed = await slash(bot, emu, "alerts", "U0VIEW")
        firing = await answer(emu, listed, lambda t: "Firing alerts" in t or "Nothing" in t)
        assert "High memory usage" in firing.text and "https://slack.com/archives/C0ALERTS/p" in firing.text
