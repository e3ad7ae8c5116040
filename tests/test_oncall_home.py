"""App Home: opening the tab publishes the person's own view (on call now and next, their next
shift, open incidents, firing alerts, what waits for them) with views.publish; a change of what
it shows publishes it again for everyone who opened it, once per change."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

from botproc import SIGNING_SECRET, BotLauncher
from conftest import RuntimeFactory
from oncall_parts import local, rota_config, start_pinned
from slack_emulator import SlackEmulator
from slack_signing import signed_headers

from bot.core.dispatcher import Invocation
from bot.incidents.home import seen
from bot.jobs.handoff import HandoffWatcher


def _config() -> str:
    return rota_config().replace("start: 2026-12-07", "start: 2024-01-01")


def view_text(call: Any) -> str:
    view = call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_opening_the_home_tab_publishes_the_persons_own_view(tmp_path: Path, fresh_db_url: str) -> None:
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        path = tmp_path / "ops.yml"
        path.write_text(_config(), encoding="utf-8")
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60)
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "event_id": f"Ev{secrets.token_hex(6).upper()}",  # Slack's redelivery guard remembers ids
                "event_time": int(time.time()),
                "event": {"type": "app_home_opened", "user": "U0DEVOPS2", "channel": "DU0DEVOPS2", "tab": "home"},
            }
        )
        status, _, _ = await bot.request(
            "POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET, content_type="application/json")
        )
        assert status == 200
        [call] = await emu.wait_for("views.publish", timeout=15)
    assert call.args["user_id"] == "U0DEVOPS2"
    text = view_text(call)
    assert "On call now" in text and "devops" in text and "then <@U0DEVOPS" in text
    assert "Your next shift" in text and "America/Santiago" in text
    assert "Open incidents" in text and "Alerts firing" in text and "Waiting for you" in text


async def test_a_change_refreshes_every_opened_tab_once(fresh_db_url: str, make_runtime: RuntimeFactory) -> None:
    async with SlackEmulator() as emu:
        runtime, _, _ = await start_pinned(make_runtime, emu, fresh_db_url, rota_config(), local(2026, 12, 7, 10, 0))
        await seen(runtime.deps, "U0DEVOPS")
        watcher = HandoffWatcher(runtime.deps)
        await watcher.tick()
        await emu.wait_for("views.publish", timeout=10)
        first = view_text(emu.calls("views.publish")[0])
        assert "devops: <@U0DEVOPS>" in first and "Your next shift" in first and "INC-1" not in first
        declared = await runtime.dispatcher.dispatch(
            Invocation("incident declare sev2 Reportes lentos", "U0VIEW", "C1", "slack")
        )
        assert declared.ok
        await watcher.tick()
        await emu.wait_for(
            "views.publish", timeout=10, predicate=lambda c: "INC-1 SEV2 Reportes lentos" in view_text(c)
        )
        await asyncio.sleep(0.5)
        before = len(emu.calls("views.publish"))
        await watcher.tick()  # nothing changed since: nothing published
        await asyncio.sleep(0.5)
        assert len(emu.calls("views.publish")) == before
        assert all(c.args["user_id"] == "U0DEVOPS" for c in emu.calls("views.publish"))
        resolved = await runtime.dispatcher.dispatch(
            Invocation("incident resolve 1 índice faltante", "U0VIEW", "C1", "slack")
        )
        assert resolved.ok
        await watcher.tick()  # back to the state of the first view: a change all the same
        await emu.wait_for("views.publish", count=before + 1, timeout=10)
        assert "INC-1" not in view_text(emu.calls("views.publish")[-1])
