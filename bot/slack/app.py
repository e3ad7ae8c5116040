"""The Slack side: a slack-bolt AsyncApp whose listeners ack at once and dispatch afterwards.

Bolt verifies every request's signature and age. Each listener acks first (Slack gives
3 s), then runs the command through the Dispatcher and posts the result through the
response_url (no channel membership needed) and, for long output, uploads a file. The
same listeners serve HTTP (`ops-bot serve`) and Socket Mode (`ops-bot socket`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.settings import Settings
from bot.core.dispatcher import Dispatcher, Invocation, error_result
from bot.incidents import home
from bot.output.results import Result
from bot.output.slack import RUN_ACTION, SlackMessage, escape, read_button_value, render_slack
from bot.slack.answer import Recipient, Respond, answer
from bot.slack.dedupe import Deduper
from bot.slack.held import hold_answer
from bot.slack.home_click import publish_home, run_home_click
from bot.slack.middleware import install_dedupe
from bot.slack.modal import DECLARE_VIEW, open_declare_form, run_submission
from bot.slack.thread import SlackThread
from bot.text.messages import Catalog

log = logging.getLogger(__name__)

RESPONSE_URL_USES = 5


class _DropClientTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment and, seeing our client beside it, warns at
    every start that the token is unused. The client is given on purpose (its base_url is
    SLACK_API_URL) and `authorize` supplies the token per request: the warning says nothing an
    operator can act on, and a warning at start-up reads like trouble at 3 AM."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropClientTokenNotice) for f in logger.filters):
        logger.addFilter(_DropClientTokenNotice())
    return logger


def web_client(settings: Settings) -> AsyncWebClient:
    """The bot's Web API client: SLACK_API_URL as base, retrying 429s after Retry-After."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return client


def group_members_via(client: AsyncWebClient) -> Callable[[str], Awaitable[set[str]]]:
    async def members(group_id: str) -> set[str]:
        response = await client.usergroups_users_list(usergroup=group_id)
        return set(response.get("users") or [])

    return members


@dataclass
class SlackBot:
    """The AsyncApp plus what its listeners need; `tasks` keeps running work referenced."""

    app: AsyncApp
    dispatcher: Dispatcher
    client: AsyncWebClient
    identity: dict[str, str | None] = field(default_factory=lambda: {"user_id": None, "bot_id": None})
    submit: Callable[[Coroutine[Any, Any, Any]], Any] | None = None
    dedupe: Deduper | None = None

    @property
    def t(self) -> Catalog:
        return self.dispatcher.t

    async def post(
        self, message: SlackMessage, respond: Respond, replace: bool = False, to: Recipient | None = None
    ) -> bool:
        """Post through the response_url (no channel membership needed), retried, else through the
        Web API to `to` (bot/slack/answer.py); never raise. False when the answer was lost (logged)."""
        if replace and not message.ephemeral:
            payload: dict[str, Any] = {"text": message.text, "blocks": message.blocks, "replace_original": True}
        else:
            payload = {
                "text": message.text,
                "blocks": message.blocks,
                "response_type": "ephemeral" if message.ephemeral else "in_channel",
                "replace_original": False,
            }
        return await answer(respond, self.client, to, payload, self.dispatcher.deps.redact, self._hold)

    async def _hold(self, to: Recipient, response_url: str, payload: dict[str, Any], dm_text: str) -> bool:
        """Slack took the answer no way: keep it in the durable queue (bot/slack/held.py)."""
        if self.dispatcher.deps.escalation is None:  # no worker to send it later
            return False
        return await hold_answer(self.dispatcher.deps, to, response_url, payload, dm_text)

    async def upload_files(
        self, message: SlackMessage, respond: Respond, channel_id: str | None, to: Recipient | None = None
    ) -> None:
        for attachment in message.files:
            try:
                await self.client.files_upload_v2(
                    channel=channel_id,
                    content=attachment.content,
                    filename=attachment.filename,
                    title=attachment.title or attachment.filename,
                )
            except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
                log.warning("file upload failed: %s", error)
                notice = escape(self.t("file.upload_failed", name=attachment.filename, error=error))
                await self.post(SlackMessage(text=notice, ephemeral=True), respond, to=to)

    async def deliver(self, message: SlackMessage, respond: Respond, to: Recipient) -> None:
        """Post the result where the command came from, then attach its files."""
        await self.post(message, respond, to=to)
        await self.upload_files(message, respond, to.channel, to)

    async def learn_identity(self) -> None:
        """auth.test once at start, off the ack path, so messages can name the bot."""
        try:
            response = await self.client.auth_test()
            self.identity["user_id"] = response.get("user_id")
            self.identity["bot_id"] = response.get("bot_id")
        except Exception as exc:
            log.warning("auth.test failed: %s", self.dispatcher.deps.redact(str(exc)))

    async def run(self, invocation: Invocation, respond: Respond, message_ts: str | None = None) -> None:
        """Hand the work to the worker loop when there is one, so the next acks never wait behind it."""
        if self.submit is not None:
            self.submit(self.work(invocation, respond, message_ts))
        else:
            await self.work(invocation, respond, message_ts)

    async def work(self, invocation: Invocation, respond: Respond, message_ts: str | None = None) -> None:
        """Dispatch; a flow edits its one message as its state moves (the clicked message, or the
        first progress message of a typed command) instead of posting a message per state."""
        clicked = invocation.source == "button"
        command = f"{self.dispatcher.deps.config.slack.command} {invocation.text}".strip()
        to = Recipient(
            invocation.user_id or None, invocation.channel_id, invocation.request_id, command, time.monotonic()
        )
        live = LiveMessage(self, respond, to, message_ts if clicked else None, clicked)

        async def update(result: Result) -> None:
            await live.show(render_slack(result))

        try:
            thread = SlackThread(self.client, invocation.channel_id) if invocation.channel_id else None
            result = await self.dispatcher.dispatch(invocation, update=update, thread=thread)
        except Exception:  # the dispatcher answers every known failure; this is the last net
            log.exception("dispatch failed for request %s", invocation.request_id)
            result = error_result(self.t("error.internal", error_id=invocation.request_id))
        message = render_slack(result)
        if not message.ephemeral and (live.active or (clicked and result.replace_original)):
            await live.show(message, final=True)
            await self.upload_files(message, respond, invocation.channel_id, to)
        else:
            await self.deliver(message, respond, to)


class LiveMessage:
    """The one message a flow edits: through the Web API when it can (no limit on edits), else
    through the response_url, which takes at most 5 posts: intermediate states use at most 4
    and the final answer always has one left."""

    def __init__(self, bot: SlackBot, respond: Respond, to: Recipient, ts: str | None, clicked: bool) -> None:
        self.bot = bot
        self.respond = respond
        self.to = to
        self.channel = to.channel
        self.ts = ts
        self.clicked = clicked
        self.active = False
        self.uses = 0
        self.tried_post = False

    async def show(self, message: SlackMessage, final: bool = False) -> None:
        client = self.bot.client
        if self.ts and self.channel:
            try:
                await client.chat_update(channel=self.channel, ts=self.ts, text=message.text, blocks=message.blocks)
                self.active = True
                return
            except Exception as exc:
                log.info("chat.update not possible (%s); using the response_url", type(exc).__name__)
                self.ts = None
        if not self.clicked and not self.active and not self.tried_post and self.channel:
            self.tried_post = True
            try:
                posted = await client.chat_postMessage(channel=self.channel, text=message.text, blocks=message.blocks)
                self.ts = str(posted["ts"])
                self.active = True
                return
            except Exception as exc:  # not in the channel, private channel…: the response_url still works
                log.info("chat.postMessage not possible (%s); using the response_url", type(exc).__name__)
        if not final and self.uses >= RESPONSE_URL_USES - 1:
            return  # keep the last use for the final answer
        self.uses += 1
        await self.bot.post(message, self.respond, replace=self.clicked or self.active, to=self.to)
        self.active = True


def build_slack_app(
    settings: Settings,
    dispatcher: Dispatcher,
    client: AsyncWebClient,
    submit: Callable[[Coroutine[Any, Any, Any]], Any] | None = None,
) -> SlackBot:
    """Wire the `/ops` command and the buttons to the dispatcher."""
    config = dispatcher.deps.config
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    identity: dict[str, str | None] = {"user_id": None, "bot_id": None}

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        # No network here: a slow Slack API must never delay an ack.
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id=identity["user_id"],
            bot_id=identity["bot_id"],
            user_id=user_id,
        )

    app = AsyncApp(
        logger=_bolt_logger(),
        client=AsyncWebClient(base_url=settings.slack_api_url, timeout=10),
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        authorize=authorize,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    bot = SlackBot(app=app, dispatcher=dispatcher, client=client, identity=identity, submit=submit)
    # Replays refused, Slack's redeliveries run once (bot/slack/dedupe.py), before any listener acks.
    bot.dedupe = Deduper.connect(settings.redis_url.get_secret_value(), settings.redis_prefix)
    install_dedupe(app, bot.dedupe, lambda verdict: dispatcher.deps.metrics.slack_requests.labels(verdict).inc())

    @app.command(config.slack.command)
    async def on_command(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        text = str(body.get("text") or "")
        shown = dispatcher.deps.redact(f"{config.slack.command} {text}".strip()[:200])
        if dispatcher.is_bare_declare(text) and body.get("trigger_id"):
            await ack()
            if await open_declare_form(bot.client, dispatcher, str(body["trigger_id"]), body.get("channel_id")):
                return
        else:
            await ack(response_type="ephemeral", text=escape(bot.t("ack.running", command=shown)))
        invocation = Invocation(
            text=text,
            user_id=str(body.get("user_id") or ""),
            channel_id=body.get("channel_id"),
            source="slack",
        )
        await bot.run(invocation, respond)

    @app.action({"action_id": re.compile(rf"^{RUN_ACTION}:")})
    async def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        await ack()
        container = body.get("container") or {}
        value = str(action.get("value") or "")
        if container.get("type") == "view":  # the App Home tab: no channel, answered by DM
            clicked = run_home_click(bot.client, dispatcher, str((body.get("user") or {}).get("id") or ""), value)
            if bot.submit is not None:
                bot.submit(clicked)
            else:
                await clicked
            return
        value, bound = read_button_value(value)  # a button DM'd after a Home click carries its step's channel
        channel = bound or (body.get("channel") or {}).get("id") or container.get("channel_id")
        if (
            dispatcher.is_bare_declare(value)
            and body.get("trigger_id")
            and await open_declare_form(bot.client, dispatcher, str(body["trigger_id"]), channel)
        ):
            return
        invocation = Invocation(
            text=value,
            user_id=str((body.get("user") or {}).get("id") or ""),
            channel_id=channel,
            source="button",
        )
        # A button bound to another channel than its message's (a Home click's DM answer): that
        # message is not in the channel the command runs in, so it is answered on its response_url.
        await bot.run(invocation, respond, None if bound else container.get("message_ts"))

    @app.view(DECLARE_VIEW)
    async def on_declare_form(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        work = run_submission(bot.client, dispatcher, user_id, view)
        if bot.submit is not None:
            bot.submit(work)
        else:
            await work

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        """The person's own Home tab, published when they open it (and refreshed on changes by
        the hand-off watcher, bot/jobs/handoff.py)."""
        if event.get("tab") != "home" or not event.get("user"):
            return
        user = str(event["user"])
        deps = dispatcher.deps

        async def publish() -> None:
            try:
                await home.seen(deps, user)
                await publish_home(bot.client, deps, user)
            except Exception as exc:
                log.warning("App Home for %s not published: %s", user, deps.redact(repr(exc))[:300])

        if bot.submit is not None:
            bot.submit(publish())
        else:
            await publish()

    @app.error
    async def on_error(error: Exception) -> None:
        log.error("unhandled Slack listener error: %s", dispatcher.deps.redact(repr(error)))

    return bot
