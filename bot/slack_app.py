"""The Slack side: a slack-bolt AsyncApp whose listeners ack at once and dispatch afterwards.

Bolt verifies every request's signature and age. Each listener acks first (Slack gives
3 s), then runs the command through the Dispatcher and posts the result through the
response_url (no channel membership needed) and, for long output, uploads a file. The
same listeners serve HTTP (`ops-bot serve`) and Socket Mode (`ops-bot socket`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatcher import Dispatcher, Invocation, error_result
from bot.messages import Catalog
from bot.render_slack import RUN_ACTION, SlackMessage, escape, render_slack
from bot.results import Result
from bot.settings import Settings
from bot.slack_modal import DECLARE_VIEW, open_declare_form, run_submission, wants_declare_form

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
RESPONSE_URL_USES = 5


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

    @property
    def t(self) -> Catalog:
        return self.dispatcher.t

    async def deliver(
        self, message: SlackMessage, respond: Respond, channel_id: str | None, replace: bool = False
    ) -> None:
        """Post the result where the command came from (or edit the clicked message); attach files; never raise."""
        try:
            if replace and not message.ephemeral:
                await respond(text=message.text, blocks=message.blocks, replace_original=True)
            else:
                await respond(
                    text=message.text,
                    blocks=message.blocks,
                    response_type="ephemeral" if message.ephemeral else "in_channel",
                    replace_original=False,
                )
        except Exception as exc:  # Slack unreachable: nothing else to tell the user through
            log.error("could not post result to Slack: %s", self.dispatcher.deps.redact(str(exc)))
        for attachment in message.files:
            try:
                await self.client.files_upload_v2(
                    channel=channel_id,
                    content=attachment.content,
                    filename=attachment.filename,
                    title=attachment.title or attachment.filename,
                )
            except (TimeoutError, SlackApiError, OSError) as exc:
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
                log.warning("file upload failed: %s", error)
                try:
                    await respond(
                        text=escape(self.t("file.upload_failed", name=attachment.filename, error=error)),
                        response_type="ephemeral",
                        replace_original=False,
                    )
                except Exception:
                    log.warning("could not report the failed upload either")

    async def learn_identity(self) -> None:
        """auth.test once at start, off the ack path, so messages can name the bot."""
        try:
            response = await self.client.auth_test()
            self.identity["user_id"] = response.get("user_id")
            self.identity["bot_id"] = response.get("bot_id")
        except Exception as exc:
            log.warning("auth.test failed: %s", self.dispatcher.deps.redact(str(exc)))

    async def run(self, invocation: Invocation, respond: Respond) -> None:
        """Hand the work to the worker loop when there is one, so the next acks never wait behind it."""
        if self.submit is not None:
            self.submit(self.work(invocation, respond))
        else:
            await self.work(invocation, respond)

    async def work(self, invocation: Invocation, respond: Respond) -> None:
        """Dispatch; a flow edits its one message as its state moves (the clicked message, or the
        first progress message of a typed command) instead of posting a message per state.

        A response_url takes at most 5 posts: intermediate states use at most 4 of them and
        the final answer always has one left.
        """
        clicked = invocation.source == "button"
        uses = 0
        progress_posted = False

        async def update(result: Result) -> None:
            nonlocal uses, progress_posted
            if uses >= RESPONSE_URL_USES - 1:
                return  # keep the last use for the final answer
            uses += 1
            await self.deliver(render_slack(result), respond, invocation.channel_id, replace=clicked or progress_posted)
            progress_posted = True

        try:
            result = await self.dispatcher.dispatch(invocation, update=update)
        except Exception:  # the dispatcher answers every known failure; this is the last net
            log.exception("dispatch failed for request %s", invocation.request_id)
            result = error_result(self.t("error.internal", error_id=invocation.request_id))
        replace = (clicked and result.replace_original) or (progress_posted and not result.ephemeral)
        await self.deliver(render_slack(result), respond, invocation.channel_id, replace=replace)


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
        client=AsyncWebClient(base_url=settings.slack_api_url, timeout=10),
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        authorize=authorize,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    bot = SlackBot(app=app, dispatcher=dispatcher, client=client, identity=identity, submit=submit)

    @app.command(config.slack.command)
    async def on_command(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        text = str(body.get("text") or "")
        shown = dispatcher.deps.redact(f"{config.slack.command} {text}".strip()[:200])
        if wants_declare_form(dispatcher, text) and body.get("trigger_id"):
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
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        value = str(action.get("value") or "")
        if (
            wants_declare_form(dispatcher, value)
            and body.get("trigger_id")
            and await open_declare_form(bot.client, dispatcher, str(body["trigger_id"]), channel)
        ):
            return
        invocation = Invocation(
            text=str(action.get("value") or ""),
            user_id=str((body.get("user") or {}).get("id") or ""),
            channel_id=channel,
            source="button",
        )
        await bot.run(invocation, respond)

    @app.view(DECLARE_VIEW)
    async def on_declare_form(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        work = run_submission(bot.client, dispatcher, user_id, view)
        if bot.submit is not None:
            bot.submit(work)
        else:
            await work

    @app.error
    async def on_error(error: Exception) -> None:
        log.error("unhandled Slack listener error: %s", dispatcher.deps.redact(repr(error)))

    return bot
