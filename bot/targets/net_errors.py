"""A failed connection in a few words a tired person reads at once: "connection refused".

aiohttp's own text is a repr ("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call
failed ('127.0.0.1', 9)]"): true, but it buries the one fact that matters. The reason is taken
from the exception's type and its OS error number, never from its text, so it cannot carry a
URL's password either.
"""

from __future__ import annotations

import errno
import socket

import aiohttp

from bot.text.messages import Msg

_ERRNO = {
    errno.ECONNREFUSED: "net.refused",
    errno.ECONNRESET: "net.reset",
    errno.EHOSTUNREACH: "net.no_route",
    errno.ENETUNREACH: "net.no_route",
    errno.ETIMEDOUT: "net.timeout",
}


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError under an aiohttp connector error (or the exception itself)."""
    inner = getattr(exc, "os_error", None)
    if isinstance(inner, OSError):
        return inner
    return exc if isinstance(exc, OSError) else None


def connect_failure(exc: BaseException) -> BaseException | None:
    """The failed connection under a client library's own error (asyncpg, redis-py and the bot's
    targets wrap it), found along the exception's cause/context chain; None when there is none."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, OSError | aiohttp.ClientError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def describe(exc: BaseException) -> Msg:
    """Why a connection failed, as a catalog message ("connection refused", "name not found" …)."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return Msg.of("net.tls")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Msg.of("net.closed")
    if isinstance(exc, aiohttp.InvalidURL):
        return Msg.of("net.bad_url")
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return Msg.of("net.timeout")
    inner = _os_error(exc)
    if isinstance(inner, socket.gaierror):
        return Msg.of("net.dns")
    if isinstance(inner, ConnectionRefusedError):
        return Msg.of("net.refused")
    if inner is not None and inner.errno in _ERRNO:
        return Msg.of(_ERRNO[inner.errno])
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return Msg.of("net.bad_answer")
    return Msg.of("net.other", kind=type(exc).__name__)
