"""A local emulator of the parts of Slack that ops-bot talks to.

Slack cannot be reached from CI, and mocking ``AsyncWebClient`` methods would
skip exactly the code we want to exercise (URL building, form/JSON encoding,
retry handlers, the Socket Mode handshake). So instead this module serves
Slack's *wire protocol* on ``127.0.0.1``: point ``AsyncWebClient(base_url=...)``
or ``SLACK_API_URL`` at :attr:`SlackEmulator.api_url` and the real slack_sdk /
slack_bolt code paths run unchanged.

What it speaks (checked against slack_sdk 3.48 / slack_bolt 1.30 sources):

* Web API: ``POST|GET /api/<method>``. slack_sdk joins ``base_url`` and the
  method name with ``urljoin``, sends the token as ``Authorization: Bearer``,
  and puts arguments in the query string (``params=``), a form body
  (``data=``) or a JSON body (``json=`` – chat.postMessage/chat.update).
  All three are merged into :attr:`Call.args`.
* files_upload_v2: ``files.getUploadURLExternal`` hands out an upload URL on
  this server (``POST /upload/v1/<file_id>``, raw bytes, answered with
  ``text/plain`` ``OK - <len>`` like files.slack.com), then
  ``files.completeUploadExternal`` shares the uploaded files.
* response_url: ``POST /response/<id>`` (JSON body, as AsyncWebhookClient sends).
* Socket Mode: ``apps.connections.open`` (needs an ``xapp-`` token) returns a
  ``ws://`` URL on this server; on connect the server sends Slack's ``hello``,
  pushes envelopes ``{envelope_id, type, payload, accepts_response_payload}``
  and collects the client's acks ``{envelope_id, payload?}``.

As strict as Slack (a stand-in that accepts every call proves nothing):

* Scopes: each method of :data:`METHODS` needs a scope from Slack's method reference, checked
  against the bot scopes of the project's own ``manifest.yml`` (or ``scopes=`` given by a
  test); conversations.history/replies/info take theirs from the channel's type (``C…``
  channels:, ``G…`` groups: or mpim: for ids in :attr:`SlackEmulator.mpims`, ``D…`` im:).
  Otherwise ``{"ok": false, "error": "missing_scope", "needed": ..., "provided": ...}``.
* Block Kit: ``invalid_blocks`` for what slack_sdk's models refuse, more than 50 blocks in
  a message or 100 in a view, a ``block_id`` used twice (section text over 3,000 characters
  is the models' check); ``msg_too_long`` for text over 40,000 characters. The response_url
  answers the same refusals with HTTP 400. ``check_blocks=False`` turns this off.
* Rate limits (``rate_limits=True``, the default): every method of a tier (:data:`TIERS`)
  has a per-minute token bucket, answered HTTP 429 with ``Retry-After`` once it is empty.
  chat.postMessage's own limit, about one message a second *per channel* with a short
  burst, is opt-in: ``post_limit=(per_second, burst)``, e.g.
  ``SlackEmulator(post_limit=(POST_PER_SECOND, POST_BURST))`` or ``(1.0, 3.0)`` for an
  alert-storm test (:meth:`SlackEmulator.rate_limit` sets the same for any method later).
  Limited calls are recorded with ``Call.limited`` and do nothing. ``rate_limits=False``
  turns every limit off except one set explicitly with :meth:`SlackEmulator.rate_limit`.
  Defaults: scopes, Block Kit and tier limits on (the suite runs under them, as the bot
  runs under Slack's, and stays green and fast: the tier buckets are a minute's worth), the
  per-channel post limit off (once a burst is spent, every test posting several lines to
  one channel would wait out Retry-After; the tests that study it opt in).
* History: conversations.history answers what was posted, newest first,
  conversations.replies the thread oldest first (parent first), as Slack does; each
  message's ``metadata`` only with ``include_all_metadata``.

Use it in-process::

    async with SlackEmulator() as emu:
        client = AsyncWebClient(token="xoxb-test", base_url=emu.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        [call] = await emu.wait_for("chat.postMessage")

or as a subprocess (for tests of a bot running in another process, and for
benchmarks; scopes and Block Kit are checked, tier limits only with ``--tier-limits``)::

    python tests/slack_emulator.py --port 0
    # prints {"url": ..., "api_url": ..., "pid": ...} on one line, serves until killed

In standalone mode a small control API is exposed (see :meth:`SlackEmulator._control_routes`):
``GET /_calls``, ``POST /_reset``, ``POST /_canned``, ``GET /_files``,
``POST /_response_url``, ``POST /_socket_send``, ``GET /_socket_ack``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import math
import mimetypes
import signal
import socket
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

#: Pseudo-method names under which non-Web-API traffic is recorded.
RESPONSE_URL = "response_url"
UPLOAD_URL = "upload_url"
SOCKET_CONNECT = "socket_connect"
SOCKET_ACK = "socket_ack"

#: Arguments that Slack accepts as JSON-encoded strings in form/query bodies.
#: They are decoded so tests can assert on structures, not on serialisation.
JSON_STRING_FIELDS = frozenset(
    {
        "blocks",
        "attachments",
        "files",
        "metadata",
        "view",
        "user_auth_blocks",
        "chunks",
        "outputs",
        "unfurls",
    }
)

#: The app manifest whose bot scopes the emulator grants unless a test passes ``scopes=``.
MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"

#: Slack's rate-limit tiers (https://docs.slack.dev/apis/web-api/rate-limits): calls per
#: minute, per method, per workspace, and the burst each tolerates ("a small amount" for
#: Tier 1, "occasional bursts" above). Modelled as a token bucket of ``burst`` refilled at
#: ``per_minute / 60`` a second.
TIERS: dict[int, tuple[int, int]] = {1: (1, 5), 2: (20, 20), 3: (50, 50), 4: (100, 100)}

#: chat.postMessage's special limit: about one message a second per channel, short bursts
#: allowed. Slack does not publish the burst; 20 is what clients measure before the 429s.
POST_PER_SECOND = 1.0
POST_BURST = 20.0

#: Block Kit limits Slack checks beyond what slack_sdk's models check one block at a time.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000

#: Methods whose scope depends on the kind of conversation, by ``channel`` id prefix:
#: ``C`` public channel, ``G`` private channel (or a group DM listed in ``mpims``), ``D`` DM.
CONVERSATION_SCOPES: dict[str, dict[str, str]] = {
    "history": {"C": "channels:history", "G": "groups:history", "D": "im:history", "mpim": "mpim:history"},
    "read": {"C": "channels:read", "G": "groups:read", "D": "im:read", "mpim": "mpim:read"},
}


@dataclass(frozen=True)
class MethodRule:
    """What Slack's method reference says about one Web API method, for a bot token.

    ``scopes``: any one of them is enough (none: the method needs no scope);
    ``conversation``: a key of CONVERSATION_SCOPES when the scope follows the channel's type;
    ``tier``: the rate-limit tier, None for the special ones (chat.postMessage, auth.test);
    ``message``/``view``: the call carries Block Kit checked as a message's or a view's.
    """

    scopes: tuple[str, ...] = ()
    conversation: str | None = None
    tier: int | None = None
    message: bool = False
    view: bool = False


#: The Web API methods ops-bot calls (tests/test_manifest.py finds them in the code), from
#: https://docs.slack.dev/reference/methods/<method>. A method missing here is answered
#: ``unknown_method`` unless a test teaches it with :meth:`SlackEmulator.set_response`.
METHODS: dict[str, MethodRule] = {
    "api.test": MethodRule(),
    "auth.test": MethodRule(),
    "apps.connections.open": MethodRule(tier=1),  # app-level token with connections:write
    "chat.postMessage": MethodRule(("chat:write",), message=True),
    "chat.postEphemeral": MethodRule(("chat:write",), tier=4, message=True),
    "chat.update": MethodRule(("chat:write",), tier=3, message=True),
    "chat.delete": MethodRule(("chat:write",), tier=3),
    "conversations.open": MethodRule(("im:write",), tier=3),  # several users: mpim:write
    "conversations.history": MethodRule(conversation="history", tier=3),
    "conversations.replies": MethodRule(conversation="history", tier=3),
    "conversations.info": MethodRule(conversation="read", tier=3),
    "files.getUploadURLExternal": MethodRule(("files:write",), tier=4),
    "files.completeUploadExternal": MethodRule(("files:write",), tier=4),
    "usergroups.list": MethodRule(("usergroups:read",), tier=2),
    "usergroups.users.list": MethodRule(("usergroups:read",), tier=2),
    "usergroups.users.update": MethodRule(("usergroups:write",), tier=2),
    "users.info": MethodRule(("users:read",), tier=4),
    "users.lookupByEmail": MethodRule(("users:read.email",), tier=3),
    "views.open": MethodRule(tier=4, view=True),
    "views.push": MethodRule(tier=4, view=True),
    "views.update": MethodRule(tier=4, view=True),
    "views.publish": MethodRule(tier=4, view=True),
}


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes ``path`` (an app manifest) asks for: what an install of it grants."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset((data.get("oauth_config") or {}).get("scopes", {}).get("bot") or [])


Body = dict[str, Any]
CannedBody = Body | Callable[["Call"], Body]


@dataclass(frozen=True)
class Call:
    """One request the emulator received.

    ``args`` merges query string, form and JSON body. JSON-string fields
    (``blocks``, ``attachments``, ``files``...) are decoded; their original
    strings are kept in ``args["_raw"]``. ``headers`` keys are lower-cased.
    ``at`` is ``time.time()`` on arrival (wall clock, so comparable with
    timestamps taken in another process).
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    #: True when the emulator's rate limit answered this call with 429 (nothing was posted).
    limited: bool = False

    @property
    def token(self) -> str | None:
        """The token the caller sent (Bearer header, else a ``token`` argument)."""
        return _token_of(self.headers, self.args)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (bytes become ``{"$base64": ...}``)."""
        return _jsonable(asdict(self))  # type: ignore[no-any-return]


@dataclass
class UploadedFile:
    """A file shared through files.getUploadURLExternal → upload → completeUploadExternal."""

    id: str
    name: str
    title: str | None
    content: bytes
    channel: str | None = None
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (most of our uploads are logs/reports)."""
        return self.content.decode("utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (content base64-encoded)."""
        return _jsonable(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SocketAck:
    """What a Socket Mode client sent back for one envelope.

    ``message`` is the full frame (``{"envelope_id": ..., "payload": ...}``),
    ``payload`` its optional payload, ``elapsed`` the seconds between pushing
    the envelope and receiving the ack (Slack gives up after 3 s).
    """

    envelope_id: str
    payload: dict[str, Any] | None
    message: dict[str, Any]
    elapsed: float
    at: float


@dataclass
class _Rule:
    """A canned answer: HTTP status, JSON body (or a function of the call), headers.

    ``remaining`` is None for a standing answer, else the number of uses left.
    """

    status: int
    body: CannedBody
    headers: dict[str, str]
    remaining: int | None


@dataclass
class _PendingUpload:
    file_id: str
    filename: str
    length: int | None
    alt_txt: str | None
    snippet_type: str | None
    content: bytes | None = None


class SlackEmulator:
    """A Slack Web API / Socket Mode / response_url server on 127.0.0.1.

    Configure it by attributes (``usergroups``, ``users``) and by
    :meth:`fail`, :meth:`delay`, :meth:`set_response`; inspect it with
    :meth:`calls`, :meth:`wait_for`, :attr:`files`, :attr:`messages` and the
    ``socket_*`` methods. Start/stop with ``async with`` or :meth:`start` /
    :meth:`stop`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0TEAM",
        team_domain: str = "ops-test",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        require_auth: bool = True,
        control_api: bool = False,
        scopes: Iterable[str] | None = None,
        rate_limits: bool = True,
        post_limit: tuple[float, float] | None = None,
        check_blocks: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        #: Reject Web API calls without a token (``not_authed``), as Slack does.
        self.require_auth = require_auth
        self.control_api = control_api
        #: usergroup id → member user ids, answered by usergroups.users.list.
        self.usergroups: dict[str, list[str]] = {}
        #: user id → user object overrides for users.info (others are synthesised).
        self.users: dict[str, dict[str, Any]] = {}
        #: Files shared via files.completeUploadExternal, in order.
        self.files: list[UploadedFile] = []
        #: Current messages by ts (posted, updated, deleted through the API).
        self.messages: dict[str, dict[str, Any]] = {}
        #: The bot scopes granted: the manifest's unless the test passed ``scopes``. A method
        #: whose scope is not among them is answered ``missing_scope``, as Slack does.
        self.scopes: frozenset[str] = manifest_scopes() if scopes is None else frozenset(scopes)
        #: ``G…`` ids that are group DMs (mpim:* scopes) rather than private channels.
        self.mpims: set[str] = set()
        #: Block Kit and text length checks (``invalid_blocks``, ``msg_too_long``).
        self.check_blocks = check_blocks
        #: Per-method tier limits (TIERS); ``rate_limits=False`` turns every limit off.
        self.rate_limits = rate_limits
        self._tier_buckets: dict[str, tuple[float, float]] = {}
        #: Never answer a Socket Mode client's close frame (a peer gone quiet): the client must
        #: not wait for it on shutdown.
        self.socket_ignores_close = False

        self._calls: list[Call] = []
        self._oneshot: dict[str, deque[_Rule]] = {}
        self._standing: dict[str, _Rule] = {}
        self._delays: dict[str, float] = {}
        self._slow: dict[str, float] = {}
        self._slow_only: dict[str, Callable[[Call], bool]] = {}
        self._refused: dict[str, str] = {}
        self._rate: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

        self._drops: dict[str, int] = {}
        self._uploads: dict[str, _PendingUpload] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_sent: dict[str, float] = {}
        self._acks: dict[str, SocketAck] = {}
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[Call], Body]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "usergroups.users.list": self._usergroups_users_list,
            "usergroups.users.update": self._usergroups_users_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "apps.connections.open": self._apps_connections_open,
        }
        if rate_limits and post_limit is not None:
            self.rate_limit("chat.postMessage", *post_limit)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> SlackEmulator:
        """Bind (port 0 → a free port chosen by the OS) and start serving."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        if self._changed is None:  # kept across close_port/reopen_port: waiters hold it
            self._changed = asyncio.Event()
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        app.router.add_get("/link/", self._handle_socket)
        if self.control_api:
            self._control_routes(app)
        # Binding the socket ourselves is the public way to learn the port of port 0.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        """Close Socket Mode connections, then the HTTP server."""
        if self._runner is None:
            return
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"emulator stopping")
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL (with trailing slash, as slack_sdk expects)."""
        return f"{self.url}/api/"

    def reset(self) -> None:
        """Forget calls, files, messages, acks and all configuration (keeps connections)."""
        self._calls.clear()
        self._oneshot.clear()
        self._standing.clear()
        self._delays.clear()
        self._slow.clear()
        self._slow_only.clear()
        self._refused.clear()
        self._tier_buckets.clear()
        self._drops.clear()
        self._uploads.clear()
        self._acks.clear()
        self._socket_sent.clear()
        self.files.clear()
        self.messages.clear()
        self.usergroups.clear()
        self.users.clear()

    # ------------------------------------------------------------------ configuring answers

    def fail(
        self,
        method: str,
        times: int = 1,
        status: int | None = None,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        * ``fail(m)`` / ``fail(m, status=429, retry_after=2)``: HTTP 429,
          ``Retry-After`` header, body ``{"ok": false, "error": "ratelimited"}``
          – what Slack sends when rate limiting.
        * ``fail(m, error="channel_not_found")``: HTTP 200 ``{"ok": false, "error": ...}``.
        * ``fail(m, status=500)``: HTTP 500 ``{"ok": false, "error": "internal_error"}``.

        Works for the pseudo-methods ``"response_url"`` and ``"upload_url"`` too.
        One-shot failures take precedence over :meth:`set_response` answers.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if status is None:
            status = 200 if error is not None else 429
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error"
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        rule = _Rule(status, {"ok": False, "error": error}, headers, times)
        self._oneshot.setdefault(method, deque()).append(rule)

    def set_response(
        self,
        method: str,
        body: CannedBody,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``method`` with ``body`` (a dict, or a function of the :class:`Call`).

        With ``times=None`` it replaces the default answer until :meth:`reset`
        (this is also how to teach the emulator a method it does not know);
        with ``times=N`` it is queued like :meth:`fail`.
        """
        rule = _Rule(status, body, dict(headers or {}), times)
        if times is None:
            self._standing[method] = rule
        else:
            self._oneshot.setdefault(method, deque()).append(rule)

    def delay(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` wait ``seconds`` before answering (0 to undo)."""
        if seconds <= 0:
            self._delays.pop(method, None)
        else:
            self._delays[method] = seconds

    def rate_limit(self, method: str, per_second: float, burst: float) -> None:
        """Answer ``method`` with 429 + Retry-After once a channel used up its bucket: ``burst``
        calls at once, refilled at ``per_second`` (Slack: about 1 message a second per channel,
        with short bursts). Limited calls are recorded with ``limited=True`` and post nothing.
        ``per_second <= 0`` removes the limit."""
        if per_second <= 0:
            self._rate.pop(method, None)
        else:
            self._rate[method] = (per_second, burst)

    def _rate_limited(self, method: str, args: dict[str, Any]) -> web.StreamResponse | None:
        limit = self._rate.get(method)
        if limit is None:
            return None
        per_second, burst = limit
        key = (method, self._channel_for(str(args.get("channel", ""))))  # a user id posts into their DM
        now = time.monotonic()
        tokens, since = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - since) * per_second)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return None
        self._buckets[key] = (tokens, now)
        wait = max(1, math.ceil((1 - tokens) / per_second))
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(wait)})

    def slow(self, method: str, seconds: float, only: Callable[[Call], bool] | None = None) -> None:
        """Carry out every call of ``method`` (or those ``only`` picks) at once, so the message
        is posted and readable, but answer only after ``seconds`` (0 to undo): Slack that
        delivers yet answers late."""
        if seconds <= 0:
            self._slow.pop(method, None)
            self._slow_only.pop(method, None)
        else:
            self._slow[method] = seconds
            if only is not None:
                self._slow_only[method] = only

    def refuse(self, channel: str, error: str = "not_in_channel") -> None:
        """Answer every chat.postMessage to ``channel`` with ``error`` (a channel the bot was
        never invited to), while other channels work; ``refuse(channel, "")`` undoes it."""
        if error:
            self._refused[channel] = error
        else:
            self._refused.pop(channel, None)

    async def close_port(self) -> None:
        """Stop listening (calls are refused, as when Slack is unreachable); :meth:`reopen_port`
        listens again on the same port. Recorded calls and messages are kept."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def reopen_port(self) -> None:
        if self._runner is None:
            await self.start()

    def drop(self, method: str, times: int = 1) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without an answer.

        The client sees the server disconnect (aiohttp's ServerDisconnectedError), as when a
        load balancer drops a keep-alive connection. The call is still recorded.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        self._drops[method] = self._drops.get(method, 0) + times

    def _take_drop(self, method: str) -> bool:
        left = self._drops.get(method, 0)
        if left <= 0:
            return False
        self._drops[method] = left - 1
        return True

    def response_url(self) -> str:
        """A fresh response_url; POSTs to it are recorded as method ``"response_url"``."""
        return f"{self.url}/response/{uuid.uuid4().hex}"

    # ------------------------------------------------------------------ inspecting calls

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally only those of ``method``."""
        return [c for c in self._calls if method is None or c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` (matching ``predicate``) arrived.

        Returns all matching calls so far. On timeout raises AssertionError
        listing every call seen, which is usually enough to spot the bug.
        """

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (predicate is None or predicate(c))]

        if await self._wait_until(lambda: len(matching()) >= count, timeout):
            return matching()
        seen = "\n  ".join(_summarize(c) for c in self._calls) or "(no calls at all)"
        what = f"{count} call(s) of {method!r}" + (" matching predicate" if predicate else "")
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}; got {len(matching())}. Calls seen:\n  {seen}"
        )

    # ------------------------------------------------------------------ Socket Mode

    @property
    def socket_clients(self) -> int:
        """Number of currently open Socket Mode connections."""
        return sum(1 for ws in self._sockets if not ws.closed)

    async def socket_connected(self, timeout: float = 5.0, count: int = 1) -> None:
        """Wait until ``count`` Socket Mode clients are connected (and got ``hello``)."""
        if not await self._wait_until(lambda: self.socket_clients >= count, timeout):
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} Socket Mode client(s); "
                f"{self.socket_clients} connected; "
                f"apps.connections.open calls: {len(self.calls('apps.connections.open'))}"
            )

    async def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool = True,
        *,
        envelope_id: str | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Push an envelope to the newest connected client; return its envelope_id.

        Slack delivers each envelope to *one* of an app's connections, so we do
        not broadcast (that would double-handle commands). The newest
        connection is chosen because after a reconnect it is the live one.
        ``envelope_type`` is ``"slash_commands"``, ``"interactive"`` or
        ``"events_api"`` (events also carry ``retry_attempt``/``retry_reason``).
        Waits up to ``timeout`` for a client to be connected.
        """
        await self.socket_connected(timeout)
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api" or retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        ws = [w for w in self._sockets if not w.closed][-1]
        self._socket_sent[envelope_id] = time.monotonic()
        await ws.send_str(json.dumps(envelope))
        return envelope_id

    async def socket_wait_ack(self, envelope_id: str, timeout: float = 3.0) -> SocketAck:
        """Wait for the client's ack of ``envelope_id`` (Slack's own deadline is 3 s)."""
        if not await self._wait_until(lambda: envelope_id in self._acks, timeout):
            raise AssertionError(
                f"no ack for envelope {envelope_id} within {timeout}s; acked so far: {sorted(self._acks)}"
            )
        return self._acks[envelope_id]

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message; clients reconnect via apps.connections.open."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
        for ws in [w for w in self._sockets if not w.closed]:
            await ws.send_str(json.dumps(message))

    # ------------------------------------------------------------------ internals: plumbing

    def _notify(self) -> None:
        """Wake every waiter; each waits on the Event current when it looked."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def _wait_until(self, condition: Callable[[], bool], within: float) -> bool:
        """Poll ``condition`` each time something is recorded, for at most ``within`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._changed is None:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def _record(self, method: str, args: dict[str, Any], headers: Mapping[str, str], limited: bool = False) -> Call:
        call = Call(method, args, {k.lower(): v for k, v in headers.items()}, time.time(), limited)
        self._calls.append(call)
        self._notify()
        return call

    def _next_rule(self, method: str) -> _Rule | None:
        queue = self._oneshot.get(method)
        if queue:
            rule = queue[0]
            assert rule.remaining is not None
            rule.remaining -= 1
            if rule.remaining <= 0:
                queue.popleft()
            return rule
        return self._standing.get(method)

    async def _answer(
        self,
        call: Call,
        default: Callable[[Call], web.StreamResponse],
    ) -> web.StreamResponse:
        """Apply canned rules and delays, else produce the default answer."""
        rule = self._next_rule(call.method)
        delay = self._delays.get(call.method)
        if delay:
            await asyncio.sleep(delay)
        slow = self._slow.get(call.method)
        only = self._slow_only.get(call.method)
        if (
            rule is None and slow and (only is None or only(call))
        ):  # delivered now, answered late (or never, if the client gave up)
            response = default(call)
            await asyncio.sleep(slow)
            return response
        if rule is None:
            return default(call)
        body = rule.body(call) if callable(rule.body) else rule.body
        return web.json_response(body, status=rule.status, headers=rule.headers)

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + next(self._ts_counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08d}"

    # ------------------------------------------------------------------ internals: HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await _parse_args(request)
        except ValueError:
            self._record(method, {"_body": await request.text()}, request.headers)
            return web.json_response({"ok": False, "error": "invalid_json"})
        limited = self._rate_limited(method, args) or self._tier_limited(method)
        call = self._record(method, args, request.headers, limited=limited is not None)
        if limited is not None:
            return limited
        if self._take_drop(method):
            return _hang_up(request)
        refusal = self._refusal(call)
        if refusal is not None:
            return web.json_response(refusal)
        return await self._answer(call, self._api_default)

    def _api_default(self, call: Call) -> web.StreamResponse:
        handler = self._handlers.get(call.method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        token = call.token
        error = self._token_error(call.method, token)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        headers = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))} if token else {}
        return web.json_response(handler(call), headers=headers)

    # ------------------------------------------------------------------ internals: Slack's contract

    def _tier_limited(self, method: str) -> web.StreamResponse | None:
        """429 + Retry-After once ``method`` used up its tier's bucket (see TIERS)."""
        rule = METHODS.get(method)
        if not self.rate_limits or rule is None or rule.tier is None:
            return None
        per_minute, burst = TIERS[rule.tier]
        per_second = per_minute / 60.0
        now = time.monotonic()
        tokens, since = self._tier_buckets.get(method, (float(burst), now))
        tokens = min(float(burst), tokens + (now - since) * per_second)
        if tokens >= 1:
            self._tier_buckets[method] = (tokens - 1, now)
            return None
        self._tier_buckets[method] = (tokens, now)
        wait = max(1, math.ceil((1 - tokens) / per_second))
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(wait)})

    def needed_scopes(self, method: str, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The scopes of which the call needs one (empty: none), as the method reference lists them."""
        rule = METHODS.get(method)
        if rule is None:
            return ()
        if rule.conversation is not None:
            channel = str(args.get("channel") or "")
            kind = "mpim" if channel in self.mpims else {"U": "D", "W": "D"}.get(channel[:1], channel[:1])
            scope = CONVERSATION_SCOPES[rule.conversation].get(kind)
            return (scope,) if scope else ()
        if method == "conversations.open" and len([u for u in str(args.get("users", "")).split(",") if u]) > 1:
            return ("mpim:write",)
        return rule.scopes

    def _refusal(self, call: Call) -> Body | None:
        """What Slack answers before doing anything: a missing scope, blocks it cannot render."""
        rule = METHODS.get(call.method)
        if rule is None:
            return None
        token = call.token
        if self._token_error(call.method, token) is not None:
            return None  # _api_default answers not_authed / not_allowed_token_type
        needed = self.needed_scopes(call.method, call.args)
        if token and not token.startswith("xapp-") and needed and not self.scopes.intersection(needed):
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": ",".join(needed),
                "provided": ",".join(sorted(self.scopes)),
            }
        if not self.check_blocks:
            return None
        if rule.message:
            return message_error(call.args)
        if rule.view:
            return view_error(call.args.get("view"))
        return None

    def _token_error(self, method: str, token: str | None) -> str | None:
        """Slack's token rules that catch real bugs: no token, or the wrong token type.

        App-level (``xapp-``) tokens only open Socket Mode connections; bot
        tokens cannot. Mixing them up is an easy mistake in bot wiring.
        """
        if not token:
            return "not_authed" if self.require_auth else None
        is_app_token = token.startswith("xapp-")
        if method == "apps.connections.open":
            return None if is_app_token else "not_allowed_token_type"
        if is_app_token and method not in ("auth.test", "api.test"):
            return "not_allowed_token_type"
        return None

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        content, filename = await _read_upload(request)
        pending = self._uploads.get(file_id)
        call = self._record(
            UPLOAD_URL,
            {
                "file_id": file_id,
                "filename": filename or (pending.filename if pending else None),
                "size": len(content),
            },
            request.headers,
        )

        def default(_: Call) -> web.StreamResponse:
            if pending is None:
                return web.Response(status=404, text="Not Found", content_type="text/plain")
            pending.content = content
            return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

        return await self._answer(call, default)

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        try:
            args = await _parse_args(request)
        except ValueError:
            args = {"_body": await request.text()}
        args["_response_id"] = request.match_info["response_id"]
        call = self._record(RESPONSE_URL, args, request.headers)
        refusal = message_error(args) if self.check_blocks else None
        if refusal is not None:  # a response_url answers a refusal with HTTP 400
            return web.json_response(refusal, status=400)
        return await self._answer(call, lambda _: web.json_response({"ok": True}))

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, autoclose=not self.socket_ignores_close)
        await ws.prepare(request)
        self._sockets.append(ws)
        self._record(SOCKET_CONNECT, dict(request.query), request.headers)
        hello = {
            "type": "hello",
            "num_connections": self.socket_clients,
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await ws.send_str(json.dumps(hello))
            self._notify()
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_text(msg.data)
            if self.socket_ignores_close:  # hold the connection open, silent, until the emulator stops
                await asyncio.sleep(60)
        finally:
            self._sockets.remove(ws)
            self._notify()
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        envelope_id = str(message["envelope_id"])
        sent = self._socket_sent.get(envelope_id)
        elapsed = time.monotonic() - sent if sent is not None else float("nan")
        payload = message.get("payload")
        self._acks[envelope_id] = SocketAck(
            envelope_id=envelope_id,
            payload=payload if isinstance(payload, dict) else None,
            message=message,
            elapsed=elapsed,
            at=time.time(),
        )
        self._record(SOCKET_ACK, dict(message), {})

    # ------------------------------------------------------------------ internals: default answers

    def _api_test(self, call: Call) -> Body:
        args = {k: v for k, v in call.args.items() if not k.startswith("_") and k != "token"}
        return {"ok": True, "args": args}

    def _auth_test(self, call: Call) -> Body:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Ops Test",
            "user": "ops-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message(self, call: Call, ts: str) -> Body:
        message: Body = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": call.args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in call.args:
                message[key] = call.args[key]
        return message

    def _channel_for(self, channel: str) -> str:
        """Posting to a user id lands in the DM with that user, as on Slack."""
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _chat_post_message(self, call: Call) -> Body:
        channel = call.args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(call.args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        if str(channel) in self._refused:
            return {"ok": False, "error": self._refused[str(channel)]}
        ts = self._next_ts()
        channel = self._channel_for(str(channel))
        message = self._message(call, ts)
        self.messages[ts] = {**message, "channel": channel}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, call: Call) -> Body:
        channel, ts = call.args.get("channel"), call.args.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        message = self._message(call, str(ts))
        # Lenient on purpose: tests often fabricate the message a button lives on.
        self.messages[str(ts)] = {**self.messages.get(str(ts), {}), **message, "channel": channel}
        text = message["text"]
        return {"ok": True, "channel": channel, "ts": ts, "text": text, "message": message}

    def _chat_post_ephemeral(self, call: Call) -> Body:
        if not call.args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not call.args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, call: Call) -> Body:
        channel, ts = call.args.get("channel"), call.args.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        self.messages.pop(str(ts), None)
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, call: Call) -> Body:
        users = [u for u in str(call.args.get("users", "")).split(",") if u]
        channel = call.args.get("channel")
        if channel:
            return {"ok": True, "channel": {"id": channel}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            return {"ok": True, "channel": {"id": f"D{users[0]}"}}
        return {"ok": True, "channel": {"id": "G" + "".join(sorted(users))[:20]}}

    def _history_of(self, call: Call, keep: Callable[[dict[str, Any]], bool]) -> Body:
        """Messages newest first, with their `metadata` only when include_all_metadata is set."""
        channel = call.args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with_meta = str(call.args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            {k: v for k, v in m.items() if k != "channel" and (with_meta or k != "metadata")}
            for ts, m in sorted(self.messages.items(), reverse=True)
            if m.get("channel") == self._channel_for(str(channel)) and keep(m)
        ]
        limit = int(call.args.get("limit") or 100)
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    def _conversations_history(self, call: Call) -> Body:
        """The channel's own messages (thread replies stay in their thread), as Slack lists them."""
        oldest = float(call.args.get("oldest") or 0)
        return self._history_of(
            call, lambda m: (not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")) and float(m["ts"]) > oldest
        )

    def _conversations_replies(self, call: Call) -> Body:
        """A thread: its parent and replies (oldest first, as Slack answers)."""
        ts = str(call.args.get("ts") or "")
        if not ts:
            return {"ok": False, "error": "thread_not_found"}
        body = self._history_of(call, lambda m: m.get("ts") == ts or m.get("thread_ts") == ts)
        if body.get("ok"):
            body["messages"] = list(reversed(body["messages"]))
        return body

    def _usergroups_users_list(self, call: Call) -> Body:
        group = call.args.get("usergroup")
        if not group:
            return {"ok": False, "error": "invalid_arguments"}
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _views_publish(self, call: Call) -> Body:
        """An App Home view: a user id and a view of type home with at most 100 blocks."""
        view = call.args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not call.args.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        return {"ok": True, "view": {"id": f"V{next(self._id_counter)}", **view}}

    def _usergroups_users_update(self, call: Call) -> Body:
        """The group becomes exactly the comma-separated `users` (Slack refuses an empty list)."""
        group, users = call.args.get("usergroup"), str(call.args.get("users") or "")
        if not group or not users:
            return {"ok": False, "error": "invalid_arguments" if not group else "invalid_users"}
        self.usergroups[str(group)] = [u for u in users.split(",") if u]
        return {"ok": True, "usergroup": {"id": group, "users": self.usergroups[str(group)]}}

    def _users_info(self, call: Call) -> Body:
        user_id = str(call.args.get("user", ""))
        if user_id in self.users:
            return {"ok": True, "user": self.users[user_id]}
        if user_id[:1] not in ("U", "W"):
            return {"ok": False, "error": "user_not_found"}
        name = user_id.lower()
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": f"User {user_id}",
                "deleted": False,
                "is_bot": user_id == self.bot_user_id,
                "is_admin": False,
                "tz": "Etc/UTC",
                "profile": {
                    "real_name": f"User {user_id}",
                    "display_name": name,
                    "email": f"{name}@example.com",
                },
            },
        }

    def _files_get_upload_url_external(self, call: Call) -> Body:
        filename, length = call.args.get("filename"), call.args.get("length")
        if not filename or length in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self._uploads[file_id] = _PendingUpload(
            file_id=file_id,
            filename=str(filename),
            length=int(length),
            alt_txt=call.args.get("alt_txt"),
            snippet_type=call.args.get("snippet_type"),
        )
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, call: Call) -> Body:
        files = call.args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        pending: list[tuple[_PendingUpload, dict[str, Any]]] = []
        for item in files:
            upload = self._uploads.get(str(item.get("id")))
            if upload is None or upload.content is None:
                return {"ok": False, "error": "file_not_found"}
            pending.append((upload, item))
        channel_id = call.args.get("channel_id")
        channels = [c for c in str(call.args.get("channels") or "").split(",") if c]
        if channel_id:
            channels = [str(channel_id), *channels]
        answer: list[Body] = []
        for upload, item in pending:
            shared = UploadedFile(
                id=upload.file_id,
                name=upload.filename,
                title=item.get("title"),
                content=upload.content or b"",
                channel=channels[0] if channels else None,
                channels=channels,
                thread_ts=call.args.get("thread_ts"),
                initial_comment=call.args.get("initial_comment"),
                alt_txt=upload.alt_txt,
                snippet_type=upload.snippet_type,
            )
            self.files.append(shared)
            del self._uploads[upload.file_id]
            answer.append(
                {
                    "id": shared.id,
                    "name": shared.name,
                    "title": shared.title or shared.name,
                    "mimetype": mimetypes.guess_type(shared.name)[0] or "text/plain",
                    "size": len(shared.content),
                    "user": self.bot_user_id,
                    "channels": channels,
                    "url_private": f"{self.url}/files/{shared.id}/{shared.name}",
                    "permalink": f"https://{self.team_domain}.slack.com/files/{shared.id}",
                }
            )
        return {"ok": True, "files": answer}

    def _apps_connections_open(self, call: Call) -> Body:
        ticket = uuid.uuid4().hex
        ws_url = f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": ws_url}

    # ------------------------------------------------------------------ control API (standalone)

    def _control_routes(self, app: web.Application) -> None:
        """HTTP twins of the Python API, for tests driving a bot in another process.

        * ``GET /_calls[?method=m]`` → list of calls (``Call.to_json``)
        * ``POST /_reset``
        * ``POST /_canned`` with any of ``{"method", "response", "status", "times"}``,
          ``{"method", "fail": {times, status, retry_after, error}}``,
          ``{"method", "delay": seconds}``, ``{"usergroups": {...}}``, ``{"users": {...}}``,
          ``{"scopes": [...]}``
        * ``GET /_files`` → uploaded files (content base64)
        * ``POST /_response_url`` → ``{"url": ...}``
        * ``POST /_socket_send`` ``{"type", "payload", "accepts_response_payload"}`` →
          ``{"envelope_id": ...}``
        * ``GET /_socket_ack?envelope_id=..&timeout=3`` → the ack, or 504
        """

        async def get_calls(request: web.Request) -> web.StreamResponse:
            calls = self.calls(request.query.get("method"))
            return web.json_response([c.to_json() for c in calls])

        async def post_reset(_: web.Request) -> web.StreamResponse:
            self.reset()
            return web.json_response({"ok": True})

        async def post_canned(request: web.Request) -> web.StreamResponse:
            spec = await request.json()
            method = spec.get("method")
            if "usergroups" in spec:
                self.usergroups.update(spec["usergroups"])
            if "users" in spec:
                self.users.update(spec["users"])
            if "scopes" in spec:  # the bot scopes granted from now on
                self.scopes = frozenset(spec["scopes"])
            if method and "response" in spec:
                self.set_response(
                    method,
                    spec["response"],
                    status=int(spec.get("status", 200)),
                    headers=spec.get("headers"),
                    times=spec.get("times"),
                )
            if method and "fail" in spec:
                self.fail(method, **spec["fail"])
            if method and "delay" in spec:
                self.delay(method, float(spec["delay"]))
            return web.json_response({"ok": True})

        async def get_files(_: web.Request) -> web.StreamResponse:
            return web.json_response([f.to_json() for f in self.files])

        async def post_response_url(_: web.Request) -> web.StreamResponse:
            return web.json_response({"url": self.response_url()})

        async def post_socket_send(request: web.Request) -> web.StreamResponse:
            spec = await request.json()
            envelope_id = await self.socket_send(
                spec["type"],
                spec["payload"],
                bool(spec.get("accepts_response_payload", True)),
                envelope_id=spec.get("envelope_id"),
            )
            return web.json_response({"envelope_id": envelope_id})

        async def get_socket_ack(request: web.Request) -> web.StreamResponse:
            timeout = float(request.query.get("timeout", "3"))
            try:
                ack = await self.socket_wait_ack(request.query["envelope_id"], timeout)
            except AssertionError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=504)
            return web.json_response(_jsonable(asdict(ack)))

        app.router.add_get("/_calls", get_calls)
        app.router.add_post("/_reset", post_reset)
        app.router.add_post("/_canned", post_canned)
        app.router.add_get("/_files", get_files)
        app.router.add_post("/_response_url", post_response_url)
        app.router.add_post("/_socket_send", post_socket_send)
        app.router.add_get("/_socket_ack", get_socket_ack)


# ---------------------------------------------------------------------- Block Kit as Slack checks it


def _invalid(reason: str, error: str = "invalid_blocks") -> Body:
    return {"ok": False, "error": error, "errors": [reason], "response_metadata": {"messages": [f"[ERROR] {reason}"]}}


def blocks_error(blocks: Any, limit: int) -> Body | None:
    """``invalid_blocks`` for what Slack refuses in a list of blocks, else None.

    Each block goes through slack_sdk's own model (``Block.parse(...).to_dict()``), which
    checks the per-element limits (section text 3,000 characters, header 150, ten fields,
    button text 75, ...); on top: at most ``limit`` blocks, each ``block_id`` once."""
    if not isinstance(blocks, list):
        return _invalid("blocks must be an array", "invalid_blocks_format")
    if len(blocks) > limit:
        return _invalid(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            return _invalid(f"must be an object [json-pointer:/blocks/{index}]")
        block_id = block.get("block_id")
        if block_id is not None:
            if str(block_id) in seen:
                return _invalid(f"duplicate block_id {block_id!r} [json-pointer:/blocks/{index}/block_id]")
            seen.add(str(block_id))
        try:
            parsed = Block.parse(block)
            if parsed is None:
                return _invalid(f"unknown block type {block.get('type')!r} [json-pointer:/blocks/{index}]")
            parsed.to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            return _invalid(f"{exc} [json-pointer:/blocks/{index}]")
    return None


def message_error(args: Mapping[str, Any]) -> Body | None:
    """A message (chat.postMessage/update/postEphemeral, response_url) Slack would refuse."""
    text = args.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    blocks = args.get("blocks")
    if blocks is None or blocks == "":
        return None
    return blocks_error(blocks, MAX_MESSAGE_BLOCKS)


def view_error(view: Any) -> Body | None:
    """A view (views.open/push/update/publish) Slack would refuse: slack_sdk's View model
    (title 24 characters, 100 blocks, ...) and every block as in a message."""
    if not isinstance(view, dict):
        return _invalid("view must be an object", "invalid_arguments")
    blocks = view.get("blocks") or []
    refused = blocks_error(blocks, MAX_VIEW_BLOCKS)
    if refused is not None:
        return refused
    try:
        View(**{k: v for k, v in view.items() if k in View.attributes}).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return _invalid(str(exc), "invalid_arguments")
    return None


# ---------------------------------------------------------------------- helpers


def _token_of(headers: Mapping[str, str], args: Mapping[str, Any]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    token = args.get("token")
    return str(token) if token else None


def _hang_up(request: web.Request) -> web.StreamResponse:
    """Close the connection before any byte of the answer (see :meth:`SlackEmulator.drop`)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def _parse_args(request: web.Request) -> dict[str, Any]:
    """Merge query, form and JSON body the way Slack's API accepts them.

    Raises ValueError for an unparsable JSON body (Slack answers ``invalid_json``).
    """
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            body = json.loads(await request.text() or "{}")
            if isinstance(body, dict):
                args.update(body)
            else:
                args["_json"] = body
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    args[key] = {"filename": value.filename, "content": value.file.read()}
                else:
                    args[key] = value
        else:
            raw = await request.read()
            if raw:
                args["_body"] = raw.decode("utf-8", errors="replace")
    raw_fields: dict[str, str] = {}
    for key in JSON_STRING_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
                raw_fields[key] = value
    if raw_fields:
        args["_raw"] = raw_fields
    return args


async def _read_upload(request: web.Request) -> tuple[bytes, str | None]:
    """Upload URLs take the raw bytes (what slack_sdk sends) or a multipart ``file`` part."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        for value in form.values():
            if isinstance(value, web.FileField):
                return value.file.read(), value.filename
        return b"", None
    return await request.read(), None


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _summarize(call: Call) -> str:
    """One line per call for timeout messages: method plus the telling arguments."""
    keys = ("channel", "channel_id", "user", "users", "usergroup", "ts", "thread_ts", "text")
    parts = []
    for key in keys:
        if key in call.args:
            text = repr(call.args[key])
            parts.append(f"{key}={text[:60] + '…' if len(text) > 60 else text}")
    return f"{call.method}({', '.join(parts)})"


# ---------------------------------------------------------------------- standalone


async def _young_collections() -> None:
    """The collector's young passes only, once a second (see `_serve`)."""
    while True:
        await asyncio.sleep(1.0)
        gc.collect(1)


async def _serve(
    host: str, port: int, limits: dict[str, tuple[float, float]] | None = None, tier_limits: bool = False
) -> None:
    # A test process that keeps every call it records until it exits: the collector's full
    # passes over those thousands of calls stalled every answer for 40-60 ms under a burst
    # (measured with gc.callbacks), which the real Slack does not do to the bot. Automatic
    # collection is off; young objects are still collected once a second.
    gc.disable()
    young = asyncio.get_running_loop().create_task(_young_collections())
    emu = SlackEmulator(host=host, port=port, control_api=True, rate_limits=tier_limits)
    for method, (per_second, burst) in (limits or {}).items():
        emu.rate_limit(method, per_second, burst)
    await emu.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"url": emu.url, "api_url": emu.api_url, "port": emu.port}), flush=True)
    try:
        await stop.wait()
    finally:
        young.cancel()
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; first stdout line is ``{"url": ..., "api_url": ...}``."""
    parser = argparse.ArgumentParser(description="Local Slack Web API / Socket Mode emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="METHOD=PER_SECOND/BURST",
        help="per-channel 429s as Slack sends them, e.g. chat.postMessage=1/20",
    )
    parser.add_argument(
        "--tier-limits",
        action="store_true",
        help="per-method tier limits as Slack's (off by default here: the benchmarks measure the bot)",
    )
    ns = parser.parse_args(argv)
    limits = {}
    for spec in ns.rate_limit:
        method, _, rate = spec.partition("=")
        per_second, _, burst = rate.partition("/")
        limits[method] = (float(per_second), float(burst or per_second))
    asyncio.run(_serve(ns.host, ns.port, limits, ns.tier_limits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
