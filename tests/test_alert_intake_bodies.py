"""Alert webhook bodies read whole, at any pace, under a real `ops-bot serve`.

A single `read(n)` returns only what has arrived; these senders make that visible: a 320 KB
Alertmanager payload (400 alerts), a raw socket that trickles 16 KB in 1 KB pieces with pauses,
a `Content-Length` that announces more than is ever sent, and a body over the limit sent
without any `Content-Length` at all (chunked), so only counting the bytes can refuse it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botproc import BotLauncher, BotProcess
from slack_emulator import SlackEmulator
from test_alerts import TOKEN, config_text, group_rows, payload, post_webhook

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def bot(tmp_path: Path, fresh_db_url: str, redis_prefix: str) -> AsyncIterator[BotProcess]:
    async with SlackEmulator() as emu, BotLauncher(tmp_path) as launcher:
        config = tmp_path / "ops.yml"
        config.write_text(config_text("http://127.0.0.1:9", None), encoding="utf-8")
        env = {"REDIS_PREFIX": f"{redis_prefix}intake:"}
        yield await launcher.serve(config, emu.api_url, fresh_db_url, ready_timeout=60, extra_env=env)


def host_port(bot: BotProcess) -> tuple[str, int]:
    host, port = (bot.url or "").removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def head(length: int | None, *, chunked: bool = False) -> bytes:
    lines = [
        "POST /alerts/alertmanager HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {TOKEN}",
        "Content-Type: application/json",
        "Connection: close",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_and_body(reader: asyncio.StreamReader) -> tuple[int, str]:
    raw = await asyncio.wait_for(reader.read(), 30)
    status_line, _, rest = raw.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")


def sized_payload(size: int) -> bytes:
    """A valid Alertmanager payload of exactly `size` bytes (padding in an annotation)."""
    body = payload(key='{}:{alertname="Trickled"}', count=3)
    body["commonAnnotations"]["description"] = ""
    base = len(json.dumps(body).encode())
    body["commonAnnotations"]["description"] = "x" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


async def test_a_320_kb_payload_of_400_alerts_is_accepted(bot: BotProcess, fresh_db_url: str) -> None:
    big = payload(key='{}:{alertname="Big"}', count=400)
    for alert in big["alerts"]:
        alert["annotations"]["description"] = "d" * 500
    data = json.dumps(big).encode()
    assert 300_000 < len(data) < 400_000
    status, text = await post_webhook(bot.url or "", data)
    assert status == 200, text
    rows = await group_rows(fresh_db_url)
    assert len(rows) == 1 and rows[0]["group_key"] == '{}:{alertname="Big"}'


async def test_a_16_kb_body_trickled_in_1_kb_pieces_is_accepted(bot: BotProcess, fresh_db_url: str) -> None:
    data = sized_payload(16 * 1024)
    reader, writer = await asyncio.open_connection(*host_port(bot))
    writer.write(head(len(data)))
    for start in range(0, len(data), 1024):
        writer.write(data[start : start + 1024])
        await writer.drain()
        await asyncio.sleep(0.15)
    status, text = await status_and_body(reader)
    writer.close()
    assert status == 200, text
    assert [r["group_key"] for r in await group_rows(fresh_db_url)] == ['{}:{alertname="Trickled"}']


async def test_a_content_length_that_lies_is_refused_not_read_in_part(bot: BotProcess, fresh_db_url: str) -> None:
    """Half the announced body, then silence: a clear 400, and the half that came is never parsed.

    The half is itself a complete, valid JSON payload: answered from the partial body it would be
    recorded as an alert."""
    data = sized_payload(4096)
    reader, writer = await asyncio.open_connection(*host_port(bot))
    writer.write(head(2 * len(data)) + data)
    await writer.drain()
    status, text = await status_and_body(reader)
    writer.close()
    assert status == 400, text
    assert "body incomplete: 4096 bytes of the 8192 its Content-Length announced" in text
    assert await group_rows(fresh_db_url) == []


async def test_an_over_limit_body_is_413_with_or_without_content_length(bot: BotProcess, fresh_db_url: str) -> None:
    assert (await post_webhook(bot.url or "", b"x" * (1024 * 1024 + 10)))[0] == 413

    reader, writer = await asyncio.open_connection(*host_port(bot))
    writer.write(head(None, chunked=True))
    piece = b"y" * 65536
    for _ in range(17):  # 1.06 MB in chunks, no Content-Length to trust
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    status, text = await status_and_body(reader)
    writer.close()
    assert status == 413, text
    assert await group_rows(fresh_db_url) == []
