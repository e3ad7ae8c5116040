"""`logs --grep`: search a container's whole log (or its `--since` window) as a stream.

The runbook's `docker-compose logs api | grep webhook | tail -50` reads everything and keeps
the last matches. Doing that by asking the engine for the last N lines first (as `logs` did)
answers "1 match" when there are 13. Here the log streams through once; only the last `keep`
matches are held (a deque), and the scan stops after `max_chars`: a huge log costs bounded
memory and time. When the cap is hit the scan is redone over the newest lines only (a line
count estimated from what was read), so the answer is still about *now*, and says it was capped.
"""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiodocker
import aiohttp

from bot.targets.engine import MAX_PENDING_LINE
from bot.targets.stack import ContainerInfo, StackServices
from bot.text.errors import TargetError
from bot.text.messages import Msg

MAX_SCAN_CHARS = 32 * 1024 * 1024
"""Characters of log read by one search pass (about 32 MB: some 5 s at the 6 MB/s measured on a
loaded 2-core machine); past it only the newest part is searched."""
READ_CHUNK = 256 * 1024
"""Bytes read from the engine at a time."""
RETRIES = 4
"""Passes over the newest part at most: the work is bounded by (1 + RETRIES) × MAX_SCAN_CHARS."""


@dataclass(frozen=True)
class LogLine:
    """One log line and the engine's time for it (None when the engine gave none)."""

    at: datetime | None
    text: str


@dataclass(frozen=True)
class LogScan:
    """What a search found: the last `keep` matches (oldest first) and how many matched in all.

    `capped` is set when the log was larger than the cap: then `matched` counts the newest
    `scanned_lines` lines only, which start at `scanned_from`.
    """

    container: ContainerInfo
    lines: list[LogLine]
    matched: int
    scanned_lines: int
    capped: bool
    scanned_from: datetime | None


def split_stamp(line: str) -> LogLine:
    """Split the engine's RFC 3339 time (`2026-12-02T12:00:00.123456789Z `) off a line."""
    head, sep, rest = line.partition(" ")
    if not sep or not head.endswith("Z") or "T" not in head:
        return LogLine(None, line)
    whole, _, frac = head[:-1].partition(".")
    try:
        at = datetime.fromisoformat(whole).replace(microsecond=int((frac + "000000")[:6] or 0), tzinfo=UTC)
    except ValueError:
        return LogLine(None, line)
    return LogLine(at, rest)


async def _frames(response: aiohttp.ClientResponse, tty: bool) -> AsyncIterator[str]:
    """The log's text in network-sized pieces. Without a TTY the engine multiplexes stdout and
    stderr in frames (8-byte header: stream, 3 zero bytes, big-endian size); they are cut out
    of each chunk here in one loop, which is many times faster than reading frame by frame."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    buffer = bytearray()
    async for data in response.content.iter_chunked(READ_CHUNK):
        if tty:
            yield decoder.decode(data)
            continue
        buffer += data
        payloads: list[bytes] = []
        pos = 0
        while len(buffer) - pos >= 8:
            size = int.from_bytes(buffer[pos + 4 : pos + 8], "big")
            if len(buffer) - pos - 8 < size:
                break
            payloads.append(bytes(buffer[pos + 8 : pos + 8 + size]))
            pos += 8 + size
        del buffer[:pos]
        if payloads:
            yield decoder.decode(b"".join(payloads))
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


async def _stream(docker: StackServices, info: ContainerInfo, params: dict[str, Any]) -> AsyncIterator[list[str]]:
    """The log's lines, a batch per network chunk, without ever holding the whole log.

    aiodocker only streams with `follow`, which never ends; its non-follow call returns one
    list. So the request is made the way aiodocker makes it, and the frames are read here.
    """
    client = docker.engine()
    raw = await client.containers.container(info.id).show()
    tty = bool((raw.get("Config") or {}).get("Tty"))
    query = {"stdout": True, "stderr": True, "follow": False, "timestamps": True, **params}
    async with client._query(f"containers/{info.id}/logs", method="GET", params=query) as response:
        pending = ""
        async for text in _frames(response, tty):
            *lines, pending = (pending + text).split("\n")
            if len(pending) > MAX_PENDING_LINE:  # a line without end: pass it on in pieces
                lines.append(pending[:MAX_PENDING_LINE])
                pending = pending[MAX_PENDING_LINE:]
            if lines:
                yield lines
        if pending:
            yield [pending]


async def _pass(
    docker: StackServices, info: ContainerInfo, needle: str, keep: int, params: dict[str, Any], max_chars: int
) -> tuple[deque[LogLine], int, int, int, datetime | None]:
    """One pass: (last matches, matched, lines read, chars read, time of the first line read).

    Only a line that contains the needle is split from its time: most lines cost one `in`."""
    found: deque[LogLine] = deque(maxlen=keep)
    matched = lines = chars = 0
    first: datetime | None = None
    async for batch in _stream(docker, info, params):
        if lines == 0 and batch:
            first = split_stamp(batch[0]).at
        for raw in batch:
            lines += 1
            chars += len(raw) + 1
            if needle in raw.lower():
                line = split_stamp(raw.rstrip("\r"))
                if needle in line.text.lower():  # not only in the time stamp
                    matched += 1
                    found.append(line)
            if chars >= max_chars:
                return found, matched, lines, chars, first
    return found, matched, lines, chars, first


async def scan_logs(
    docker: StackServices,
    service: str,
    needle: str,
    keep: int,
    since: timedelta | None = None,
    max_chars: int = MAX_SCAN_CHARS,
    timeout: float = 45.0,
) -> LogScan:
    """Search the service's log (case-insensitive) for `needle`; keep the last `keep` matches."""
    info = await docker.container_of(service)
    params: dict[str, Any] = {"tail": "all"}
    if since is not None:
        params["since"] = int((datetime.now(UTC) - since).timestamp())
    what = f"logs of {service}"
    needle = needle.lower()
    try:
        async with asyncio.timeout(timeout):
            found, matched, lines, chars, first = await _pass(docker, info, needle, keep, params, max_chars)
            if chars < max_chars:
                return LogScan(info, list(found), matched, lines, False, first)
            # Too big: search only the newest lines that fit the cap. Their count is estimated from
            # the average line read so far; newer lines may be longer, so a pass that hits the cap
            # again (and so missed the newest lines) is redone with the estimate from its own lines.
            for _ in range(RETRIES):
                newest = max(1, int(0.9 * max_chars * lines / max(chars, 1)))
                params["tail"] = str(newest)
                found, matched, lines, chars, first = await _pass(docker, info, needle, keep, params, max_chars)
                if chars < max_chars:
                    break
            return LogScan(info, list(found), matched, lines, True, first)
    except TimeoutError:
        raise TargetError("docker", Msg.of("docker.timeout", what=what, seconds=f"{timeout:g}")) from None
    except aiodocker.DockerError as exc:
        raise TargetError(service, f"{what}: {exc.message}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise TargetError("docker", Msg.of("docker.unreachable", what=what, detail=exc.__class__.__name__)) from None
