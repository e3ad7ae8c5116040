"""End to end in Socket Mode: the real `ops-bot socket` subprocess connects to the Slack
emulator's WebSocket, acks the envelopes it pushes, and posts results to their response_url."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botproc import APP_TOKEN, BOT_TOKEN, BotLauncher, BotProcess, bot_env, posted, run_bot, shown
from conftest import base_config
from slack_emulator import SOCKET_CONNECT, SlackEmulator
from slack_signing import block_actions_payload, slash_command_payload

pytestmark = pytest.mark.timeout(60)

CHANNEL = "C0OPS"


def new_viewer() -> str:
    return "U0V" + secrets.token_hex(4).upper()


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    tmp_path: Path,
    emu: SlackEmulator,
    write_config: Callable[[str], Path],
    bot_db_url: str,
    redis_prefix: str,
) -> AsyncIterator[BotProcess]:
    """A running `ops-bot socket`, connected to the emulator."""
    async with BotLauncher(tmp_path) as launcher:
        process = await launcher.socket(
            write_config(base_config()), emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix}
        )
        await emu.socket_connected(timeout=5)
        yield process


async def test_it_opens_the_socket_with_the_app_token_and_calls_the_web_api_with_the_bot_token(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    [opened] = emu.calls("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert emu.calls(SOCKET_CONNECT)
    [auth] = await emu.wait_for("auth.test")
    assert auth.token == BOT_TOKEN


async def test_a_slash_command_envelope_is_acked_within_a_second_and_answered(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    response_url = emu.response_url()

    envelope = await emu.socket_send(
        "slash_commands", slash_command_payload("contacts", new_viewer(), CHANNEL, response_url)
    )

    ack = await emu.socket_wait_ack(envelope, timeout=3)
    assert ack.elapsed < 1.0, f"ack took {ack.elapsed:.3f}s"
    assert "Running `/ops contacts`" in str((ack.payload or {}).get("text"))
    [call] = await posted(emu, response_url)
    assert call.args["response_type"] == "in_channel"
    assert "Ana Rojas" in shown(call) and "Marta Gil" in shown(call)


async def test_a_button_click_envelope_runs_the_buttons_command(bot: BotProcess, emu: SlackEmulator) -> None:
    response_url = emu.response_url()
    payload = block_actions_payload("ops_run:0", "/ops contacts", new_viewer(), CHANNEL, response_url)

    envelope = await emu.socket_send("interactive", payload)

    ack = await emu.socket_wait_ack(envelope, timeout=3)
    assert ack.elapsed < 1.0, f"ack took {ack.elapsed:.3f}s"
    [call] = await posted(emu, response_url)
    assert "Contacts" in shown(call) and "Ana Rojas" in shown(call)


async def test_an_admin_only_click_by_a_viewer_is_refused_over_the_socket(bot: BotProcess, emu: SlackEmulator) -> None:
    response_url = emu.response_url()
    payload = block_actions_payload("ops_run:0", "/ops audit 3", new_viewer(), CHANNEL, response_url)

    await emu.socket_send("interactive", payload)

    [call] = await posted(emu, response_url)
    assert call.args["response_type"] == "ephemeral"
    assert "`/ops audit` needs the *admin* role" in shown(call)


async def test_socket_mode_without_an_app_token_says_so_and_exits_2(
    tmp_path: Path, emu: SlackEmulator, write_config: Callable[[str], Path], bot_db_url: str
) -> None:
    env = bot_env(write_config(base_config()), emu.api_url, bot_db_url)

    done = await run_bot(["socket"], env, cwd=tmp_path)

    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert emu.calls() == []
