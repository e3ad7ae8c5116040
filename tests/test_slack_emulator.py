"""Proves the Slack emulator speaks the protocol the real slack_sdk / slack_bolt expect.

Every test drives the emulator with the genuine client code (AsyncWebClient,
files_upload_v2, the rate-limit retry handler, AsyncSocketModeHandler), so if
slack_sdk changes its wire behaviour these tests break before the bot's do.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.say.async_say import AsyncSay
from slack_emulator import (
    MAX_TEXT,
    RESPONSE_URL,
    SOCKET_CONNECT,
    UPLOAD_URL,
    SlackEmulator,
    manifest_scopes,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_signing import (
    block_actions_body,
    sign,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


#: This file exercises the emulator's whole protocol surface, users.info and
#: conversations.info included, which ops-bot's own manifest does not ask for.
PROTOCOL_SCOPES = manifest_scopes() | {"users:read", "channels:read"}


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(scopes=PROTOCOL_SCOPES) as emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)


# ---------------------------------------------------------------------- Web API


async def test_binds_a_free_local_port(emu: SlackEmulator) -> None:
    assert emu.port != 0
    assert emu.api_url == f"http://127.0.0.1:{emu.port}/api/"
    async with SlackEmulator() as other:
        assert other.port != emu.port


async def test_post_message_is_recorded_with_increasing_ts(emu: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deploy* done"}}]
    first = await client.chat_postMessage(channel="C0OPS", text="deploy done", blocks=blocks)
    second = await client.chat_postMessage(channel="C0OPS", text="again", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C0OPS"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])

    calls = await emu.wait_for("chat.postMessage", count=2)
    assert calls[0].args["blocks"] == blocks  # sent as a JSON body by slack_sdk
    assert calls[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert calls[0].token == BOT_TOKEN
    assert calls[1].args["thread_ts"] == first["ts"]
    assert emu.messages[first["ts"]]["text"] == "deploy done"


async def test_form_encoded_json_fields_are_decoded(emu: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [{"type": "divider"}]
    await client.api_call(
        "chat.postEphemeral",
        data={"channel": "C1", "user": "U1", "blocks": json.dumps(blocks)},
    )
    [call] = emu.calls("chat.postEphemeral")
    assert call.args["blocks"] == blocks
    assert call.args["_raw"]["blocks"] == json.dumps(blocks)
    assert call.args["user"] == "U1"


async def test_update_delete_and_auth(emu: SlackEmulator, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0TEAM")
    assert "chat:write" in auth.headers["x-oauth-scopes"]

    posted = await client.chat_postMessage(channel="C1", text="v1")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert updated["ts"] == posted["ts"]
    assert emu.messages[posted["ts"]]["text"] == "v2"
    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert posted["ts"] not in emu.messages

    with pytest.raises(SlackApiError) as excinfo:
        await AsyncWebClient(base_url=emu.api_url).auth_test()
    assert excinfo.value.response["error"] == "not_authed"


async def test_files_upload_v2_records_content(emu: SlackEmulator, client: AsyncWebClient) -> None:
    content = "line 1\nline 2\n" * 100
    result = await client.files_upload_v2(
        channel="C0OPS",
        content=content,
        filename="orders.log",
        title="orders logs",
        initial_comment="here you go",
        thread_ts="1700000000.000100",
    )

    assert result["file"]["name"] == "orders.log"
    [get_url] = emu.calls("files.getUploadURLExternal")
    assert get_url.args["filename"] == "orders.log"
    assert int(get_url.args["length"]) == len(content.encode())
    [upload] = emu.calls(UPLOAD_URL)
    assert upload.args["size"] == len(content.encode())
    [complete] = emu.calls("files.completeUploadExternal")
    assert complete.args["files"] == [{"id": result["file"]["id"], "title": "orders logs"}]

    [shared] = emu.files
    assert shared.content == content.encode()
    assert shared.text == content
    assert (shared.name, shared.title) == ("orders.log", "orders logs")
    assert (shared.channel, shared.thread_ts) == ("C0OPS", "1700000000.000100")
    assert shared.initial_comment == "here you go"


async def test_rate_limit_then_success_is_retried_after_retry_after(emu: SlackEmulator) -> None:
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emu.fail("chat.postMessage", times=1, status=429, retry_after=1)

    response = await client.chat_postMessage(channel="C1", text="eventually")

    assert response["ok"]
    first, second = emu.calls("chat.postMessage")
    assert second.at - first.at >= 1.0  # the client honoured Retry-After
    assert first.args == second.args


async def test_rate_limit_without_retry_handler_surfaces(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.fail("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        await client.users_info(user="U1")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert excinfo.value.response["error"] == "ratelimited"


async def test_canned_error_then_default(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="C404", text="x")
    assert excinfo.value.response.status_code == 200
    assert excinfo.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_set_response_and_delay(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.set_response("conversations.info", lambda call: {"ok": True, "id": call.args["channel"]})
    info = await client.api_call("conversations.info", params={"channel": "C9"})
    assert info["id"] == "C9"

    emu.delay("auth.test", 0.3)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3


async def test_usergroups_users_and_dm(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.usergroups = {"S0OPS": ["U1", "U2"]}
    members = await client.usergroups_users_list(usergroup="S0OPS")
    assert members["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as excinfo:
        await client.usergroups_users_list(usergroup="S0NOPE")
    assert excinfo.value.response["error"] == "no_such_subteam"

    user = await client.users_info(user="U1")
    assert user["user"]["id"] == "U1"
    emu.users["U2"] = {"id": "U2", "name": "oncall", "profile": {"email": "oncall@x"}}
    assert (await client.users_info(user="U2"))["user"]["name"] == "oncall"

    dm = await client.conversations_open(users="U1")
    assert dm["channel"]["id"] == "DU1"


async def test_unknown_method(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.api_call("reactions.add", params={"name": "eyes"})
    assert excinfo.value.response["error"] == "unknown_method"
    assert emu.calls("reactions.add")[0].args["name"] == "eyes"


async def test_wait_for_timeout_lists_seen_calls(emu: SlackEmulator, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="hello")
    with pytest.raises(AssertionError, match=r"(?s)chat\.update.*chat\.postMessage\(channel='C1'"):
        await emu.wait_for("chat.update", timeout=0.1)
    with pytest.raises(AssertionError, match="matching predicate"):
        await emu.wait_for("chat.postMessage", timeout=0.1, predicate=lambda c: c.args["text"] == "nope")


async def test_wait_for_wakes_on_later_call(emu: SlackEmulator, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="late")

    task = asyncio.create_task(later())
    [call] = await emu.wait_for("chat.postMessage", timeout=2)
    await task
    assert call.args["text"] == "late"


async def test_response_url_is_recorded(emu: SlackEmulator) -> None:
    url = emu.response_url()
    assert url.startswith(f"{emu.url}/response/")
    response = await AsyncWebhookClient(url).send(text="done", response_type="ephemeral")
    assert response.status_code == 200

    [call] = await emu.wait_for(RESPONSE_URL)
    assert call.args["text"] == "done"
    assert call.args["response_type"] == "ephemeral"
    assert call.args["_response_id"] == url.rsplit("/", 1)[1]


# ---------------------------------------------------------------------- Socket Mode


async def test_socket_hello_and_raw_ack(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError):  # a bot token cannot open Socket Mode connections
        await client.apps_connections_open(app_token=BOT_TOKEN)
    opened = await client.apps_connections_open(app_token=APP_TOKEN)
    assert opened["url"].startswith(f"ws://127.0.0.1:{emu.port}/")

    async with aiohttp.ClientSession() as session, session.ws_connect(opened["url"]) as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["type"] == "hello"
        assert hello["connection_info"]["app_id"] == emu.app_id

        envelope_id = await emu.socket_send("events_api", {"event": {"type": "app_mention"}}, False)
        envelope = await ws.receive_json(timeout=2)
        assert envelope == {
            "envelope_id": envelope_id,
            "payload": {"event": {"type": "app_mention"}},
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await ws.send_json({"envelope_id": envelope_id})
        ack = await emu.socket_wait_ack(envelope_id)
        assert ack.payload is None
        assert ack.message == {"envelope_id": envelope_id}
        assert 0 <= ack.elapsed < 2


async def test_bolt_socket_mode_slash_command_is_acked(emu: SlackEmulator) -> None:
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    app = AsyncApp(client=web_client, signing_secret=SECRET)
    seen: list[dict[str, Any]] = []

    @app.command("/ops")
    async def ops(ack: AsyncAck, command: dict[str, Any]) -> None:
        seen.append(command)
        await ack(text=f"running `{command['text']}`")

    handler = AsyncSocketModeHandler(app, APP_TOKEN, web_client=web_client)
    try:
        await handler.connect_async()
        await emu.socket_connected(timeout=3)
        payload = slash_command_payload("restart orders-api", "U1", "C0OPS", emu.response_url(), command="/ops")
        envelope_id = await emu.socket_send("slash_commands", payload)
        ack = await emu.socket_wait_ack(envelope_id, timeout=3)
    finally:
        await handler.close_async()

    assert ack.payload == {"text": "running `restart orders-api`"}
    assert ack.elapsed < 3
    assert seen[0]["user_id"] == "U1"
    [opened] = emu.calls("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert emu.calls("auth.test")[0].token == BOT_TOKEN  # bolt authorised with the bot token


async def test_bolt_reconnects_after_disconnect_message(emu: SlackEmulator) -> None:
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    app = AsyncApp(client=web_client, signing_secret=SECRET)

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(f"hi <@{event['user']}>")

    handler = AsyncSocketModeHandler(app, APP_TOKEN, web_client=web_client)
    try:
        await handler.connect_async()
        await emu.socket_connected(timeout=3)
        await emu.socket_disconnect()  # Slack does this every few hours
        await emu.wait_for(SOCKET_CONNECT, count=2, timeout=3)
        await emu.socket_connected(timeout=3)
        event = {"type": "app_mention", "user": "U1", "text": "<@U0BOT> hi", "channel": "C1"}
        payload = {
            "type": "event_callback",
            "team_id": emu.team_id,
            "api_app_id": emu.app_id,
            "event": {**event, "ts": "1700000000.000001"},
            "event_id": "Ev0001",
            "event_time": 1700000000,
        }
        envelope_id = await emu.socket_send("events_api", payload, False)
        await emu.socket_wait_ack(envelope_id)
        [reply] = await emu.wait_for("chat.postMessage", timeout=3)
    finally:
        await handler.close_async()

    assert len(emu.calls("apps.connections.open")) == 2
    assert reply.args["channel"] == "C1"
    assert reply.args["text"] == "hi <@U1>"


# ---------------------------------------------------------------------- signing helpers


def test_signed_slash_command_verifies_and_tampering_does_not() -> None:
    verifier = SignatureVerifier(SECRET)
    body = slash_command_body("status orders", "U1", "C0OPS", "https://hooks.example/r/1")
    headers = signed_headers(body, SECRET)
    assert verifier.is_valid_request(body, headers)
    ts = headers["X-Slack-Request-Timestamp"]
    assert headers["X-Slack-Signature"] == verifier.generate_signature(timestamp=ts, body=body)

    assert not verifier.is_valid_request(body.replace("status", "restart"), headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_sign_matches_slack_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" guide.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert sign(body, SECRET, 1531420618) == ("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


def test_slash_command_body_shape() -> None:
    body = slash_command_body("restart api", "U1", "C0OPS", "https://r", trigger_id="1.2.abc")
    fields = list(parse_qs(body, keep_blank_values=True).items())
    assert [k for k, _ in fields] == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "is_enterprise_install",
        "response_url", "trigger_id",
    ]  # fmt: skip
    assert "command=%2Fops" in body and "text=restart+api" in body


def test_block_actions_body_shape() -> None:
    body = block_actions_body("approve", "deploy-42", "U1", "C0OPS", "https://r/1", message_ts="1.2", block_id="b1")
    assert body.startswith("payload=")
    raw = parse_qs(body)["payload"][0]
    assert "\\/" in raw  # Slack escapes slashes in its JSON
    payload = json.loads(raw)
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U1" and payload["user"]["team_id"] == "T0TEAM"
    assert payload["container"] == {
        "type": "message", "message_ts": "1.2", "channel_id": "C0OPS", "is_ephemeral": False,
    }  # fmt: skip
    assert payload["channel"]["id"] == "C0OPS" and payload["message"]["ts"] == "1.2"
    assert payload["response_url"] == "https://r/1"
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "approve", "b1", "deploy-42", "button",
    )  # fmt: skip
    assert payload["message"]["blocks"][0]["elements"][0]["action_id"] == "approve"


# ---------------------------------------------------------------------- standalone mode


async def test_standalone_process_exposes_control_api() -> None:
    script = Path(__file__).with_name("slack_emulator.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=5)
        info = json.loads(line)
        base = info["url"]
        client = AsyncWebClient(token=BOT_TOKEN, base_url=info["api_url"])
        async with aiohttp.ClientSession() as http:
            canned = {"method": "chat.postMessage", "fail": {"error": "is_archived"}}
            await http.post(f"{base}/_canned", json=canned)
            await http.post(f"{base}/_canned", json={"usergroups": {"S1": ["U7"]}})
            with pytest.raises(SlackApiError):
                await client.chat_postMessage(channel="C1", text="x")
            await client.chat_postMessage(channel="C1", text="y")
            assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U7"]

            async with http.get(f"{base}/_calls") as resp:
                calls = await resp.json()
            assert [c["method"] for c in calls] == [
                "chat.postMessage", "chat.postMessage", "usergroups.users.list",
            ]  # fmt: skip
            assert calls[1]["args"]["text"] == "y"

            await http.post(f"{base}/_reset")
            async with http.get(f"{base}/_calls") as resp:
                assert await resp.json() == []

            # Socket Mode driven from this process, client connected to the subprocess.
            opened = await client.apps_connections_open(app_token=APP_TOKEN)
            async with http.ws_connect(opened["url"]) as ws:
                assert (await ws.receive_json(timeout=2))["type"] == "hello"
                envelope = {"type": "slash_commands", "payload": {"command": "/ops"}}
                async with http.post(f"{base}/_socket_send", json=envelope) as resp:
                    envelope_id = (await resp.json())["envelope_id"]
                received = await ws.receive_json(timeout=2)
                assert received["envelope_id"] == envelope_id
                await ws.send_json({"envelope_id": envelope_id, "payload": {"text": "ok"}})
                query = {"envelope_id": envelope_id, "timeout": "2"}
                async with http.get(f"{base}/_socket_ack", params=query) as resp:
                    assert (await resp.json())["payload"] == {"text": "ok"}
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), timeout=5) == 0


# ---------------------------------------------------------------------- as strict as Slack (issue 21)


async def test_the_scopes_granted_are_the_manifests_and_an_unlisted_one_is_missing_scope() -> None:
    async with SlackEmulator() as strict:
        assert strict.scopes == manifest_scopes() and "chat:write" in strict.scopes
        client = AsyncWebClient(token=BOT_TOKEN, base_url=strict.api_url)
        with pytest.raises(SlackApiError) as excinfo:
            await client.users_info(user="U1")  # users:read is not in manifest.yml
        answer = excinfo.value.response
        assert answer["error"] == "missing_scope" and answer["needed"] == "users:read"
        assert answer["provided"] == ",".join(sorted(manifest_scopes()))
        assert not strict.calls("users.info")[0].limited


@pytest.mark.parametrize(
    ("channel", "needed"),
    [("C0INC", "channels:history"), ("G0PRIV", "groups:history"), ("DU1", "im:history"), ("G0MPIM", "mpim:history")],
)
async def test_history_and_replies_need_the_scope_of_the_conversations_type(channel: str, needed: str) -> None:
    async with SlackEmulator(scopes={"chat:write"}) as strict:
        strict.mpims.add("G0MPIM")
        client = AsyncWebClient(token=BOT_TOKEN, base_url=strict.api_url)
        for method, extra in (("conversations.history", {}), ("conversations.replies", {"ts": "1.0"})):
            with pytest.raises(SlackApiError) as excinfo:
                await client.api_call(method, http_verb="GET", params={"channel": channel, **extra})
            assert (excinfo.value.response["error"], excinfo.value.response["needed"]) == ("missing_scope", needed)
    async with SlackEmulator(scopes={"chat:write", needed}) as granted:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=granted.api_url)
        granted.mpims.add("G0MPIM")
        assert (await client.api_call("conversations.history", http_verb="GET", params={"channel": channel}))["ok"]


async def test_a_dm_to_several_users_needs_mpim_write() -> None:
    async with SlackEmulator() as strict:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=strict.api_url)
        assert (await client.conversations_open(users="U1"))["ok"]
        with pytest.raises(SlackApiError) as excinfo:
            await client.conversations_open(users="U1,U2")
        assert excinfo.value.response["needed"] == "mpim:write"


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


@pytest.mark.parametrize(
    ("blocks", "why"),
    [
        ([_section(f"line {i}") for i in range(51)], "no more than 50 items"),
        ([_section("a", "same"), _section("b", "same")], "duplicate block_id"),
        ([_section("x" * 3001)], "3000"),
        ([{"type": "no_such_block"}], "unknown block type"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "150"),
    ],
    ids=["51-blocks", "duplicate-block-id", "section-3001", "unknown-type", "header-151"],
)
async def test_blocks_slack_refuses_are_invalid_blocks_and_post_nothing(
    emu: SlackEmulator, client: AsyncWebClient, blocks: list[dict[str, Any]], why: str
) -> None:
    for send in (
        lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks),
        lambda: client.chat_update(channel="C1", ts="1.0", text="t", blocks=blocks),
        lambda: client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=blocks),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            await send()
        assert excinfo.value.response["error"] == "invalid_blocks"
        assert why in " ".join(excinfo.value.response["errors"])
    assert emu.messages == {}
    ok = await client.chat_postMessage(channel="C1", text="t", blocks=[_section("x" * 3000), *[_section("y")] * 49])
    assert ok["ok"], "the limits themselves are allowed"


async def test_text_over_40000_characters_is_msg_too_long(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="C1", text="x" * (MAX_TEXT + 1))
    assert excinfo.value.response["error"] == "msg_too_long"
    assert (await client.chat_postMessage(channel="C1", text="x" * MAX_TEXT))["ok"]


async def test_a_view_with_101_blocks_or_a_long_title_is_refused(emu: SlackEmulator, client: AsyncWebClient) -> None:
    title = {"type": "plain_text", "text": "Declare"}
    emu.set_response("views.open", {"ok": True, "view": {"id": "V1"}})
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_open(trigger_id="t", view={"type": "modal", "title": title, "blocks": [_section("a")] * 101})
    assert excinfo.value.response["error"] == "invalid_blocks"
    long_title = {"type": "plain_text", "text": "x" * 25}
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_open(trigger_id="t", view={"type": "modal", "title": long_title, "blocks": []})
    assert excinfo.value.response["error"] == "invalid_arguments"
    assert (
        await client.views_open(trigger_id="t", view={"type": "modal", "title": title, "blocks": [_section("a")] * 100})
    )["ok"]


async def test_the_response_url_refuses_invalid_blocks_with_400(emu: SlackEmulator) -> None:
    webhook = AsyncWebhookClient(emu.response_url())
    refused = await webhook.send_dict({"text": "t", "blocks": [_section("a", "x"), _section("b", "x")]})
    assert refused.status_code == 400 and "invalid_blocks" in refused.body
    assert (await webhook.send_dict({"text": "t", "blocks": [_section("a")]})).status_code == 200


async def test_a_tier_2_method_is_rate_limited_after_its_burst_with_retry_after() -> None:
    async with SlackEmulator() as strict:
        strict.usergroups = {"S0OPS": ["U1"]}
        client = AsyncWebClient(token=BOT_TOKEN, base_url=strict.api_url)
        for _ in range(20):  # Tier 2: 20 a minute
            await client.usergroups_users_list(usergroup="S0OPS")
        with pytest.raises(SlackApiError) as excinfo:
            await client.usergroups_users_list(usergroup="S0OPS")
        assert excinfo.value.response.status_code == 429
        assert excinfo.value.response.headers["Retry-After"] == "3"  # one call refills in 60/20 s
        assert strict.calls("usergroups.users.list")[-1].limited
    async with SlackEmulator(rate_limits=False) as lenient:
        lenient.usergroups = {"S0OPS": ["U1"]}
        client = AsyncWebClient(token=BOT_TOKEN, base_url=lenient.api_url)
        for _ in range(25):
            await client.usergroups_users_list(usergroup="S0OPS")


async def test_post_limit_is_per_channel_with_a_burst() -> None:
    async with SlackEmulator(post_limit=(1.0, 3.0)) as storm:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=storm.api_url)
        for _ in range(3):
            await client.chat_postMessage(channel="C1", text="x")
        with pytest.raises(SlackApiError) as excinfo:
            await client.chat_postMessage(channel="C1", text="x")
        assert excinfo.value.response.status_code == 429 and excinfo.value.response.headers["Retry-After"] == "1"
        assert (await client.chat_postMessage(channel="C2", text="x"))["ok"], "another channel has its own bucket"
        assert len(storm.messages) == 4


async def test_history_is_newest_first_and_metadata_only_when_asked(emu: SlackEmulator, client: AsyncWebClient) -> None:
    meta = {"event_type": "opsbot_step", "event_payload": {"steps": [1], "part": "dm"}}
    first = await client.chat_postMessage(channel="U1", text="one", metadata=meta)
    second = await client.chat_postMessage(channel="U1", text="two")
    reply = await client.chat_postMessage(channel="U1", text="reply", thread_ts=first["ts"])
    plain = await client.api_call("conversations.history", http_verb="GET", params={"channel": "DU1"})
    assert [m["text"] for m in plain["messages"]] == ["two", "one"]  # the reply stays in its thread
    assert all("metadata" not in m for m in plain["messages"])
    full = await client.api_call(
        "conversations.history", http_verb="GET", params={"channel": "DU1", "include_all_metadata": "true"}
    )
    assert full["messages"][1]["metadata"] == meta
    thread = await client.api_call(
        "conversations.replies", http_verb="GET", params={"channel": "DU1", "ts": first["ts"]}
    )
    assert [m["ts"] for m in thread["messages"]] == [first["ts"], reply["ts"]]  # a thread reads parent first
    assert second["ts"] not in [m["ts"] for m in thread["messages"]]
