"""The declare form's fields reach `incident declare` as they were typed into the form.

The submission used to be joined into command text and split again like a shell line, so a
title with an apostrophe ("Checkout can't reach the DB") was refused as an unbalanced quote,
after the form had closed. Through a real `ops-bot serve` and a signed view_submission.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import pytest
from botproc import SIGNING_SECRET, BotLauncher, shown
from conftest import base_config
from slack_emulator import SlackEmulator
from slack_signing import signed_headers, slash_command_body

pytestmark = pytest.mark.timeout(60)

POLICY = "escalation:\n  sev1:\n    - {notify: devops, on_call: true}\n  sev2:\n    - {notify: tech_lead}\n"
TITLES = ["Checkout can't reach the DB", 'Pagos "lentos" \\ y `raros`', "--help me -x 'half"]


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.set_response("views.open", {"ok": True, "view": {"id": "V0FORM"}})
        yield emulator


def submission(view: dict[str, object], severity: str, title: str) -> str:
    """The form body Slack posts when the person presses Declare."""
    view = dict(view)
    view["id"] = "V0FORM"
    view["state"] = {
        "values": {
            "severity": {"severity_select": {"type": "static_select", "selected_option": {"value": severity}}},
            "title": {"title_input": {"type": "plain_text_input", "value": title}},
        }
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "team"},
        "user": {"id": "U0BACKEND", "username": "luis", "name": "luis", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"t.submit.{uuid.uuid4().hex}",
        "view": view,
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_titles_with_quotes_and_dashes_are_declared_as_written(
    emu: SlackEmulator, fresh_db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(extra=POLICY), encoding="utf-8")
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.serve(
            config, emu.api_url, fresh_db_url, extra_env={"REDIS_PREFIX": f"{redis_prefix}form:"}
        )
        body = slash_command_body(
            "incident declare", "U0BACKEND", "C0DEV", emu.response_url(), trigger_id=f"t.form.{uuid.uuid4().hex}"
        )
        status, _, _ = await bot.request("POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET))
        assert status == 200
        [opened] = await emu.wait_for("views.open", timeout=5)
        view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
        for n, title in enumerate(TITLES, 1):
            form = submission(view, "sev2", title)
            status, _, _ = await bot.request("POST", "/slack/events", form, signed_headers(form, SIGNING_SECRET))
            assert status == 200
            posts = await emu.wait_for(
                "chat.postMessage", count=n, timeout=10, predicate=lambda c: c.args.get("channel") == "C0DEV"
            )
            answer = shown(posts[-1])
            assert "could not read" not in answer and "Usage" not in answer, answer
    conn = await asyncpg.connect(fresh_db_url)
    try:
        rows = await conn.fetch("SELECT severity, title FROM incidents ORDER BY id")
        audit = await conn.fetch(
            "SELECT decision, outcome FROM audit_log WHERE operation = 'incident declare' AND source = 'modal'"
        )
    finally:
        await conn.close()
    assert [(r["severity"], r["title"]) for r in rows] == [("sev2", title) for title in TITLES]
    assert [(r["decision"], r["outcome"]) for r in audit] == [("allowed", "ok")] * len(TITLES)
