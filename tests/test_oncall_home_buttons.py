"""App Home buttons: what waits for a person (their step to confirm, a step awaiting their
approval, a cover request) carries its buttons on the Home tab; a click, sent by Slack as a
signed `block_actions` payload whose container is the view (no channel, no response_url), runs
the same command with the same checks, answers by DM and publishes the tab again."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest
from botproc import SIGNING_SECRET, BotLauncher, BotProcess, posted, shown
from conftest import RuntimeFactory, base_config
from oncall_parts import ROTA, SECOND_DEVOPS, local, start_pinned
from private_redis import PrivateRedis, start_private_redis
from slack_emulator import SlackEmulator
from slack_signing import block_actions_body, signed_headers, slack_json, slash_command_body

from bot.core.dispatcher import Invocation
from bot.incidents.home import home_view
from bot.incidents.notify import SlackNotifier, slack_client_for_notices

CHANNEL = "C0OPS"
EVENTS = "/slack/events"


@pytest.fixture
def stack_redis() -> Iterator[PrivateRedis]:
    server = start_private_redis()
    yield server
    server.stop()


def _config(redis_url: str) -> str:
    rota = ROTA.replace("start: 2026-12-07", "start: 2024-01-01")
    return base_config(target_redis=redis_url, extra=rota).replace("contacts:\n", "contacts:\n" + SECOND_DEVOPS, 1)


def _view(call: Any) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def open_home(bot: BotProcess, emu: SlackEmulator, user: str) -> dict[str, Any]:
    """app_home_opened as Slack sends it; returns the view the bot published for `user`."""
    before = len([c for c in emu.calls("views.publish") if c.args.get("user_id") == user])
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event_id": f"Ev{secrets.token_hex(6).upper()}",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"},
        }
    )
    status, _, _ = await bot.request(
        "POST", EVENTS, body, signed_headers(body, SIGNING_SECRET, content_type="application/json")
    )
    assert status == 200
    calls = await emu.wait_for(
        "views.publish", count=before + 1, timeout=15, predicate=lambda c: c.args.get("user_id") == user
    )
    return _view(calls[-1])


def buttons(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(button label, element) of every button of the view, in order."""
    return [
        (e["text"]["text"], e)
        for block in view["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["type"] == "button"
    ]


def button(view: dict[str, Any], label: str, command: str) -> dict[str, Any]:
    found = [e for text, e in buttons(view) if text == label and command in e["value"]]
    assert len(found) == 1, (label, command, buttons(view))
    return found[0]


async def click_home(bot: BotProcess, user: str, view: dict[str, Any], element: dict[str, Any]) -> None:
    """A click on the Home tab the way Slack sends it: container of type view, the view itself
    (its blocks with the block_ids Slack gives those published without one), no channel, no
    response_url (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload)."""
    view_id = "V0HOME" + user
    blocks = [dict(b, block_id=b.get("block_id") or f"b{i}") for i, b in enumerate(view["blocks"])]
    block_id = next(b["block_id"] for b in blocks if element in (b.get("elements") or []))
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "verification-token-unused",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": f"1.{secrets.token_hex(6)}",
        "team": {"id": "T0TEAM", "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "team_id": "T0TEAM",
            "type": "home",
            "blocks": blocks,
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0APP",
            "external_id": "",
            "app_installed_team_id": "T0TEAM",
            "bot_id": "B0BOT",
        },
        "actions": [
            {
                "action_id": element["action_id"],
                "block_id": block_id,
                "text": element["text"],
                "value": element["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": slack_json(payload)})
    status, _, _ = await bot.request("POST", EVENTS, body, signed_headers(body, SIGNING_SECRET))
    assert status == 200


async def slash(bot: BotProcess, emu: SlackEmulator, text: str, user: str) -> str:
    response_url = emu.response_url()
    body = slash_command_body(text, user, CHANNEL, response_url)
    status, _, _ = await bot.request("POST", EVENTS, body, signed_headers(body, SIGNING_SECRET))
    assert status == 200
    [call] = await posted(emu, response_url, timeout=15)
    return shown(call)


async def dm_after(emu: SlackEmulator, user: str, after: int) -> tuple[int, str]:
    """The first chat.postMessage to `user` (their DM with the bot) after call number `after`."""

    def dm(c: Any) -> bool:
        return c.args.get("channel") == user

    await emu.wait_for("chat.postMessage", timeout=20, predicate=lambda c: dm(c) and emu.calls().index(c) >= after)
    index, call = next(
        (i, c) for i, c in enumerate(emu.calls()) if i >= after and c.method == "chat.postMessage" and dm(c)
    )
    return index, shown(call)


async def refresh_after(emu: SlackEmulator, user: str, after: int) -> tuple[int, dict[str, Any]]:
    def mine(c: Any) -> bool:
        return c.args.get("user_id") == user and emu.calls().index(c) > after

    await emu.wait_for("views.publish", timeout=20, predicate=mine)
    index, call = next((i, c) for i, c in enumerate(emu.calls()) if c.method == "views.publish" and mine(c))
    return index, _view(call)


async def executed(db_url: str, action: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE decision = 'executed' AND arguments->>'confirmation' = $1",
                action,
            )
        )
    finally:
        await conn.close()


async def test_confirm_and_approve_from_home_run_the_step_once_answer_by_dm_and_refresh_the_tab(
    tmp_path: Path, fresh_db_url: str, stack_redis: PrivateRedis
) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(_config(stack_redis.url), encoding="utf-8")
    stack_redis.client().set("k", "v")
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        env = {"REDIS_PREFIX": f"home{secrets.token_hex(4)}:"}  # the shared Redis: this run's records only
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)
        preview = await slash(bot, emu, "/ops cache flush-all", "U0ADMIN")
        assert "flush" in preview.lower()

        home = await open_home(bot, emu, "U0ADMIN")
        assert len(home["blocks"]) <= 100
        confirm = button(home, "Confirm", "confirm ")
        value = json.loads(confirm["value"])
        assert value["channel"] == CHANNEL, "a confirmation runs in the channel it was asked in"
        action = value["command"].split()[-1]
        button(home, "Cancel", f"cancel {action}")
        assert not [e for text, e in buttons(home) if text == "Approve"], "nobody approves their own step"
        other = await open_home(bot, emu, "U0VIEW")
        assert action not in json.dumps(other), "a step waits only for the person who asked for it"

        mark = len(emu.calls())
        await click_home(bot, "U0ADMIN", home, confirm)
        dm_at, dm = await dm_after(emu, "U0ADMIN", mark)
        assert "Waiting for another admin to approve" in dm, dm
        refreshed_at, refreshed = await refresh_after(emu, "U0ADMIN", dm_at)
        assert refreshed_at > dm_at
        assert action not in json.dumps(refreshed), "the Confirm is gone once clicked"
        assert stack_redis.client().get("k") == b"v", "a critical step waits for a second admin"

        second = await open_home(bot, emu, "U0ADMIN2")
        approve = button(second, "Approve", f"approve {action}")
        button(second, "Reject", f"cancel {action}")
        mark = len(emu.calls())
        await click_home(bot, "U0ADMIN2", second, approve)
        dm_at, dm = await dm_after(emu, "U0ADMIN2", mark)
        assert "FLUSHDB" in dm and "done" in dm and "Approved by" in dm, dm
        assert stack_redis.client().dbsize() == 0
        _, refreshed = await refresh_after(emu, "U0ADMIN2", dm_at)
        assert action not in json.dumps(refreshed)
        assert await executed(fresh_db_url, action) == 1

        stack_redis.client().set("k2", "v")
        mark = len(emu.calls())
        await click_home(bot, "U0ADMIN2", second, approve)  # a stale tab clicked again
        _, again = await dm_after(emu, "U0ADMIN2", mark)
        assert stack_redis.client().get("k2") == b"v", "the step ran once"
        assert await executed(fresh_db_url, action) == 1
        assert "already ran; it will not run twice" in again, again
    calls = [c.method for c in emu.calls()]
    assert "chat.postEphemeral" not in calls or all(
        c.args.get("channel") == CHANNEL for c in emu.calls("chat.postEphemeral")
    ), "a Home click is answered by DM"


async def test_a_cover_request_is_accepted_from_home(
    tmp_path: Path, fresh_db_url: str, stack_redis: PrivateRedis
) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(_config(stack_redis.url), encoding="utf-8")
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        env = {"REDIS_PREFIX": f"home{secrets.token_hex(4)}:"}  # a slash command's redelivery guard is shared
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)
        asker = None
        for user in ("U0DEVOPS", "U0DEVOPS2"):  # whoever of the two is on call today asks
            if "not on call" not in (await slash(bot, emu, "/ops oncall cover 1h", user)).lower():
                asker = user
                break
        assert asker is not None
        other = "U0DEVOPS2" if asker == "U0DEVOPS" else "U0DEVOPS"
        home = await open_home(bot, emu, other)
        accept = button(home, "Accept", " accept")
        button(home, "Decline", " decline")
        mark = len(emu.calls())
        await click_home(bot, other, home, accept)
        dm_at, dm = await dm_after(emu, other, mark)
        assert "you took it" in dm.lower(), dm
        _, refreshed = await refresh_after(emu, other, dm_at)
        assert not [t for t, _ in buttons(refreshed) if t == "Accept"], "the answered request is gone"
        conn = await asyncpg.connect(fresh_db_url)
        try:
            row = await conn.fetchrow("SELECT state, answered_by FROM oncall_requests")
        finally:
            await conn.close()
        assert row is not None and row["state"] == "accepted" and row["answered_by"] == other


async def test_the_buttons_of_a_home_clicks_dm_answer_run_in_the_steps_channel(
    tmp_path: Path, fresh_db_url: str, stack_redis: PrivateRedis
) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(_config(stack_redis.url), encoding="utf-8")
    stack_redis.client().set("k", "v")
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        env = {"REDIS_PREFIX": f"home{secrets.token_hex(4)}:"}
        bot = await launcher.serve(path, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)
        await slash(bot, emu, "/ops cache flush-all", "U0ADMIN")
        home = await open_home(bot, emu, "U0ADMIN")
        confirm = button(home, "Confirm", "confirm ")
        action = json.loads(confirm["value"])["command"].split()[-1]
        mark = len(emu.calls())
        await click_home(bot, "U0ADMIN", home, confirm)
        await dm_after(emu, "U0ADMIN", mark)
        [dm] = [c for c in emu.calls("chat.postMessage") if c.args.get("channel") == "U0ADMIN"]
        reject = next(
            e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"] if "cancel" in e["value"]
        )
        assert json.loads(reject["value"]) == {"command": f"/ops cancel {action}", "channel": CHANNEL}
        response_url = emu.response_url()  # the click in the DM, as Slack sends it from a message
        body = block_actions_body(reject["action_id"], reject["value"], "U0ADMIN", "DU0ADMIN", response_url)
        status, _, _ = await bot.request("POST", EVENTS, body, signed_headers(body, SIGNING_SECRET))
        assert status == 200
        [answer] = await posted(emu, response_url, timeout=15)
        assert "not the channel" not in shown(answer).lower() and "cancel" in shown(answer).lower(), shown(answer)
        after = await open_home(bot, emu, "U0ADMIN")
        assert action not in json.dumps(after), "the step is cancelled: nothing waits any more"
        assert stack_redis.client().get("k") == b"v"
        assert not emu.calls("chat.update"), (
            "the DM's message is not in the step's channel: answered on its response_url"
        )


async def test_many_waiting_steps_stay_within_slacks_view_limits(
    fresh_db_url: str, make_runtime: RuntimeFactory, stack_redis: PrivateRedis
) -> None:
    async with SlackEmulator() as emu:
        runtime, _, _ = await start_pinned(
            make_runtime,
            emu,
            fresh_db_url,
            _config(stack_redis.url),
            local(2026, 12, 7, 10, 0),
            redis_prefix=f"home-many-{secrets.token_hex(4)}:",
        )
        for n in range(13):
            asked = await runtime.dispatcher.dispatch(
                Invocation(f"cache flush-tenant abc{n:03d}", "U0OPER", "C1", "slack")
            )
            assert asked.ok, asked
        notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
        await notifier.publish_home("U0OPER", await home_view(runtime.deps, "U0OPER", local(2026, 12, 7, 10, 0)))
        [call] = emu.calls("views.publish")  # the strict stand-in refused nothing: within Slack's limits
    view = _view(call)
    assert len(view["blocks"]) <= 100
    confirms = [e for text, e in buttons(view) if text == "Confirm"]
    assert len(confirms) == 10 and len({json.loads(e["value"])["command"] for e in confirms}) == 10
    assert "and 3 more" in json.dumps(view) and "/ops pending" in json.dumps(view)
