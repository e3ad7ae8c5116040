"""Build and sign HTTP request bodies exactly as Slack sends them to an app.

Tests of the HTTP (non-Socket-Mode) entry points need requests that pass
Slack's signature check and look byte-for-byte like Slack's, so the app's
real parsing and verification run. The signature is computed here with
``hmac`` directly (Slack's documented v0 scheme, the same algorithm as
``slack_sdk.signature.SignatureVerifier.generate_signature``) rather than by
calling slack_sdk, so a test comparing the two is not circular.

Defaults (team ``T0TEAM``, domain ``ops-test``, app ``A0APP``, bot ``U0BOT``)
match :class:`slack_emulator.SlackEmulator`'s defaults.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

DEFAULT_TEAM_ID = "T0TEAM"
DEFAULT_TEAM_DOMAIN = "ops-test"
DEFAULT_APP_ID = "A0APP"
DEFAULT_BOT_USER_ID = "U0BOT"
DEFAULT_BOT_ID = "B0BOT"
#: The deprecated verification token Slack still includes in every payload.
DEFAULT_VERIFICATION_TOKEN = "verification-token-not-used"

_trigger_counter = itertools.count(1)


def sign(body: str | bytes, secret: str, timestamp: int) -> str:
    """Slack's v0 signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str | bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp, signature and content type.

    ``timestamp`` defaults to now; pass an old one to test replay rejection
    (SignatureVerifier refuses anything more than 5 minutes off).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, secret, ts),
    }


def new_trigger_id() -> str:
    """A unique trigger_id in Slack's ``<digits>.<digits>.<hex>`` shape."""
    n = next(_trigger_counter)
    digest = hashlib.md5(str(n).encode(), usedforsecurity=False).hexdigest()
    return f"1700000000{n:03d}.1234567890.{digest}"


def slash_command_payload(
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    command: str = "/ops",
    trigger_id: str | None = None,
    *,
    user_name: str | None = None,
    channel_name: str = "ops",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, str]:
    """The fields of a slash command, in Slack's order, all strings as on the wire.

    This dict is also the ``payload`` of a Socket Mode ``slash_commands`` envelope.
    """
    return {
        "token": DEFAULT_VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_command_body(
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    command: str = "/ops",
    trigger_id: str | None = None,
    **overrides: str,
) -> str:
    """The ``application/x-www-form-urlencoded`` body Slack POSTs for a slash command."""
    payload = slash_command_payload(text, user_id, channel_id, response_url, command, trigger_id, **overrides)
    return urlencode(payload)


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    message_ts: str = "1700000000.000100",
    block_id: str = "ops_actions",
    *,
    button_text: str = "Approve",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    is_ephemeral: bool = False,
    trigger_id: str | None = None,
    action_ts: str | None = None,
    user_name: str | None = None,
    channel_name: str = "ops",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button click on a message the bot posted.

    ``message_blocks`` defaults to a single actions block holding the clicked
    button, so ``message.blocks`` is consistent with ``actions``.
    """
    name = user_name or user_id.lower()
    button_label = {"type": "plain_text", "text": button_text, "emoji": True}
    if message_blocks is None:
        message_blocks = [
            {
                "type": "actions",
                "block_id": block_id,
                "elements": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "text": button_label,
                        "value": value,
                    }
                ],
            }
        ]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": DEFAULT_VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {
            "user": DEFAULT_BOT_USER_ID,
            "type": "message",
            "ts": message_ts,
            "bot_id": DEFAULT_BOT_ID,
            "app_id": api_app_id,
            "text": message_text,
            "team": team_id,
            "blocks": message_blocks,
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": button_label,
                "value": value,
                "type": "button",
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }


def slack_json(payload: Any) -> str:
    """JSON the way Slack serialises it: compact, ASCII-only, with ``/`` escaped as ``\\/``.

    The escaping is valid JSON; reproducing it keeps tests honest about code
    that might string-match raw bodies.
    """
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/")


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    message_ts: str = "1700000000.000100",
    block_id: str = "ops_actions",
    **overrides: Any,
) -> str:
    """The form body Slack POSTs for a button click: ``payload=<urlencoded JSON>``."""
    payload = block_actions_payload(
        action_id, value, user_id, channel_id, response_url, message_ts, block_id, **overrides
    )
    return urlencode({"payload": slack_json(payload)})
