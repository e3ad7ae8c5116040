"""An answer that reaches the user even when the response_url fails.

slack-bolt's `respond()` (slack_sdk's AsyncWebhookClient.send_dict) does not raise when Slack
answers the response_url with an HTTP error: it returns a WebhookResponse whose `status_code`
is 500 or 429, and only retries a dropped connection, once. An answer posted that way and
not checked is lost without a word. Here each post is checked:

1. the response_url, retried on 5xx and on a broken connection (backoff) and on 429 after
   its Retry-After (capped at RETRY_AFTER_CAP), at most RESPONSE_URL_ATTEMPTS times; a 4xx
   other than 429 (an expired or used-up URL) is not retried;
2. then the Web API with the bot token: chat.postEphemeral to the user in the channel, or,
   in a direct message (a `D…` channel), chat.postMessage into it (else to the user's DM);
3. if every way failed (Slack unreachable), the answer is held in the bot's Postgres (`hold`,
   bot/slack/held.py) and sent when Slack answers again: through the response_url while it
   lives (30 minutes), else by DM (bot/incidents/answers.py);
4. only when it cannot even be held, an error log line says whose answer was lost and what it
   said (redacted, cut to LOST_TEXT_CHARS), so nobody's answer disappears unseen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
Hold = Callable[["Recipient", str, dict[str, Any], str], Awaitable[bool]]
"""Keep an answer for later: (whom, response_url, payload, its text for a DM) -> held."""

RESPONSE_URL_ATTEMPTS = 4
BACKOFF = (0.5, 1.0, 2.0)
RETRY_AFTER_CAP = 5.0
LOST_TEXT_CHARS = 300


class AnswerFailed(Exception):
    """One way of answering failed; the message says how (`HTTP 500`, `ServerDisconnectedError`…)."""


@dataclass(frozen=True)
class Recipient:
    """Whom an answer is for, so the Web API can reach them when the response_url cannot."""

    user: str | None
    channel: str | None
    request_id: str = "-"
    command: str = ""
    received: float | None = None
    """time.monotonic() when the command came: its response_url lives 30 minutes from then."""


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    try:
        return min(max(float(headers.get("Retry-After", 1)), 0.0), RETRY_AFTER_CAP)
    except (TypeError, ValueError):
        return 1.0


async def via_response_url(respond: Respond, **payload: Any) -> None:
    """POST to the response_url until Slack takes it, within the bounds above; raise AnswerFailed."""
    why = "?"
    for attempt in range(RESPONSE_URL_ATTEMPTS):
        wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
        try:
            response = await respond(**payload)
        except ValueError as exc:  # bolt: "respond is unsupported here as there is no response_url"
            raise AnswerFailed(str(exc)) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            why = type(exc).__name__
        else:
            status = int(getattr(response, "status_code", 200) or 200)
            if status < 300:
                return
            why = f"HTTP {status}"
            if status == 429:
                wait = _retry_after(response)
            elif status < 500:
                raise AnswerFailed(why)
        if attempt + 1 < RESPONSE_URL_ATTEMPTS:
            log.info("response_url refused (%s), retry %d in %.1fs", why, attempt + 1, wait)
            await asyncio.sleep(wait)
    raise AnswerFailed(f"{why} after {RESPONSE_URL_ATTEMPTS} attempts")


def _ways(channel: str, user: str) -> list[tuple[str, str]]:
    """A direct message gets a message in it (or in the user's DM with the bot); a channel an ephemeral."""
    if channel.startswith("D"):
        return [("chat.postMessage", channel), ("chat.postMessage", user)]
    return [("chat.postEphemeral", channel)]


async def via_web_api(client: AsyncWebClient, to: Recipient, text: str, blocks: list[dict[str, Any]]) -> str:
    """The fallback with the bot token; returns how it went out, raises AnswerFailed."""
    if not to.channel or not to.user:
        raise AnswerFailed("no channel or user to post to")
    errors: list[str] = []
    for method, channel in _ways(to.channel, to.user):
        try:
            if method == "chat.postEphemeral":
                await client.chat_postEphemeral(channel=channel, user=to.user, text=text, blocks=blocks)
            else:
                await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            return method
        except SlackApiError as exc:
            errors.append(f"{method}: {exc.response.get('error') or exc.response.status_code}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            errors.append(f"{method}: {type(exc).__name__}")
    raise AnswerFailed("; ".join(errors))


async def answer(
    respond: Respond,
    client: AsyncWebClient,
    to: Recipient | None,
    payload: dict[str, Any],
    redact: Callable[[str], str],
    hold: Hold | None = None,
) -> bool:
    """Deliver `payload` (respond's keyword arguments) by the first way that works; never raise.

    Returns False, after logging what was lost, when no way worked and it could not be held.
    """
    try:
        await via_response_url(respond, **payload)
        return True
    except AnswerFailed as exc:
        first = str(exc)
    except Exception as exc:  # a bug in the path must not lose the answer without a word
        first = type(exc).__name__
    text = str(payload.get("text") or "")
    if to is not None:
        try:
            how = await via_web_api(client, to, text, list(payload.get("blocks") or []))
            log.warning("response_url failed (%s); answered with %s (request %s)", first, how, to.request_id)
            return True
        except AnswerFailed as exc:
            first = f"{first}; {exc}"
        except Exception as exc:
            first = f"{first}; {type(exc).__name__}"
    who = f"user {to.user} in {to.channel} (request {to.request_id})" if to else "unknown recipient"
    response_url = getattr(respond, "response_url", None)
    if hold is not None and to is not None and to.user and isinstance(response_url, str) and response_url:
        dm_text = "\n".join(_texts(payload.get("blocks") or []) or [text])
        try:
            if await hold(to, response_url, payload, dm_text):
                log.warning("answer for %s held until Slack answers (%s)", who, redact(first))
                return True
        except Exception as exc:
            first = f"{first}; not held: {type(exc).__name__}"
    said = " | ".join([text, *_texts(payload.get("blocks") or [])])[:LOST_TEXT_CHARS]
    log.error("answer LOST for %s: %s; it said: %s", who, redact(first), redact(said))
    return False


def _texts(value: Any) -> list[str]:
    """The text fields of Block Kit blocks, in order (what the person would have read)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str) else _texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []
