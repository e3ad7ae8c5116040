"""A click on the App Home tab: the same command as the button on the original message, answered
by DM and followed by a fresh view.

Slack sends a Home click as a `block_actions` payload whose container is the view (`container.type
== "view"`), with no channel and no response_url: nowhere to answer but the person's DM with the
bot (chat.postMessage to the user id, chat:write). The command goes through the Dispatcher like a
typed one, so the role check and the state machine decide again (a step already confirmed,
cancelled or taken answers so). A confirmation is bound to the channel it was asked in
(bot/core/confirmations.py); its Home buttons carry that channel (bot/output/slack.py's
button_value), so its Confirm is the one a person would type there. Afterwards the person's view
is published again: what was waiting is gone or changed.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.deps import Deps
from bot.core.dispatcher import Dispatcher, Invocation, error_result
from bot.incidents import home
from bot.output.results import Buttons, Result, redact_result
from bot.output.slack import read_button_value, render_slack

log = logging.getLogger(__name__)


async def publish_home(client: AsyncWebClient, deps: Deps, user: str) -> None:
    """views.publish: the person's Home tab as it is now (redacted like every message)."""
    async with deps.db.connection() as conn:
        now = await deps.incidents.now(conn)
    view = render_slack(redact_result(await home.home_view(deps, user, now), deps.redact))
    await client.views_publish(user_id=user, view={"type": "home", "blocks": view.blocks})


def _bound(result: Result, channel: str | None) -> Result:
    """The answer's own buttons (a confirmed step's Cancel) go to the DM: bound to the step's
    channel like the Home ones, so a click there runs where the step is bound too."""
    if channel is None:
        return result
    blocks = [
        Buttons([replace(b, channel=b.channel or channel) for b in block.buttons])
        if isinstance(block, Buttons)
        else block
        for block in result.blocks
    ]
    return replace(result, blocks=blocks)


async def run_home_click(client: AsyncWebClient, dispatcher: Dispatcher, user: str, value: str) -> None:
    """Run the clicked command, DM its answer, refresh the tab; never raise (the click is acked)."""
    deps = dispatcher.deps
    command, channel = read_button_value(value)
    invocation = Invocation(text=command, user_id=user, channel_id=channel, source="button")
    try:
        result = await dispatcher.dispatch(invocation)
    except Exception:  # the dispatcher answers every known failure; this is the last net
        log.exception("dispatch failed for Home click %s", invocation.request_id)
        result = error_result(dispatcher.t("error.internal", error_id=invocation.request_id))
    message = render_slack(_bound(result, channel))
    try:
        await client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks)
    except Exception as exc:
        log.error(
            "Home click answer to %s not delivered (request %s): %s",
            user,
            invocation.request_id,
            deps.redact(message.text)[:300] + " / " + deps.redact(repr(exc))[:200],
        )
    try:
        await publish_home(client, deps, user)
    except Exception as exc:
        log.warning("App Home for %s not refreshed: %s", user, deps.redact(repr(exc))[:300])
