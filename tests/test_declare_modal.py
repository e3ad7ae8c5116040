"""`/ops incident declare` alone opens a form; submitting it declares like the typed command."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import pytest
from botproc import SIGNING_SECRET, BotLauncher
from conftest import base_config
from slack_emulator import SlackEmulator
from slack_signing import signed_headers, slash_command_body


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.set_response("views.open", {"ok": True, "view": {"id": "V0FORM"}})
        yield emulator


POLICY = "escalation:\n  sev1:\n    - {notify: devops, on_call: true}\n  sev2:\n    - {notify: tech_lead}\n"


async def test_bare_declare_opens_a_form_and_its_submission_declares(
    emu: SlackEmulator, fresh_db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(extra=POLICY), encoding="utf-8")
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.serve(
            config, emu.api_url, fresh_db_url, extra_env={"REDIS_PREFIX": f"{redis_prefix}modal:"}
        )
        body = slash_command_body(
            "incident declare", "U0BACKEND", "C0DEV", emu.response_url(), trigger_id=f"t.form.{uuid.uuid4().hex}"
        )
        status, _, seconds = await bot.request("POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET))
        assert status == 200 and seconds < 1.0
        [opened] = await emu.wait_for("views.open", timeout=5)
        assert str(opened.args["trigger_id"]).startswith("t.form.")
        view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
        assert view["callback_id"] == "ops_declare"
        assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == ["sev1", "sev2"]

        view["state"] = {
            "values": {
                "severity": {"severity_select": {"type": "static_select", "selected_option": {"value": "sev2"}}},
                "title": {"title_input": {"type": "plain_text_input", "value": "Reportes  <!channel> lentos"}},
            }
        }
        view["id"] = "V0FORM"
        payload = {
            "type": "view_submission",
            "team": {"id": "T0TEAM", "domain": "team"},
            "user": {"id": "U0BACKEND", "username": "luis", "name": "luis", "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "token": "legacy",
            "trigger_id": "t.form.2",
            "view": view,
            "response_urls": [],
        }
        form = urlencode({"payload": json.dumps(payload)})
        status, _, seconds = await bot.request("POST", "/slack/events", form, signed_headers(form, SIGNING_SECRET))
        assert status == 200 and seconds < 1.0
        await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: c.args.get("channel") == "C0DEV")
    conn = await asyncpg.connect(fresh_db_url)
    try:
        row = await conn.fetchrow("SELECT severity, title, declared_by FROM incidents")
        audit = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE operation = 'incident declare' AND source = 'modal'"
        )
    finally:
        await conn.close()
    assert (row["severity"], row["title"], row["declared_by"]) == ("sev2", "Reportes <!channel> lentos", "U0BACKEND")
    assert audit == 1
    posted = [c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "C0DEV"]
    assert "<!channel>" not in json.dumps(posted[0].args), "the title is echoed escaped"
