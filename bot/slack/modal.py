"""Declaring an incident from a form: `/ops incident declare` with nothing after it, or the
"Declare an incident" button, opens a Slack modal; its submission is dispatched exactly
like the typed command (same role check, same audit row), its fields as structured arguments."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.dispatcher import Dispatcher, Invocation
from bot.output.slack import render_slack

log = logging.getLogger(__name__)

DECLARE_VIEW = "ops_declare"
DECLARE_COMMAND = "incident declare"
_SEVERITY_BLOCK, _SEVERITY_ACTION = "severity", "severity_select"
_TITLE_BLOCK, _TITLE_ACTION = "title", "title_input"


def declare_view(dispatcher: Dispatcher, channel_id: str | None) -> dict[str, Any]:
    t = dispatcher.t
    severities = list(dispatcher.deps.config.escalation.policies) or ["sev1", "sev2"]
    options = [{"text": {"type": "plain_text", "text": s.upper()}, "value": s} for s in severities]
    return {
        "type": "modal",
        "callback_id": DECLARE_VIEW,
        "private_metadata": json.dumps({"channel": channel_id}),
        "title": {"type": "plain_text", "text": t("modal.declare.title")[:24]},
        "submit": {"type": "plain_text", "text": t("modal.declare.submit")[:24]},
        "close": {"type": "plain_text", "text": t("confirm.button.cancel")[:24]},
        "blocks": [
            {
                "type": "input",
                "block_id": _SEVERITY_BLOCK,
                "label": {"type": "plain_text", "text": t("modal.declare.severity")},
                "element": {
                    "type": "static_select",
                    "action_id": _SEVERITY_ACTION,
                    "options": options,
                    "initial_option": options[0],
                },
            },
            {
                "type": "input",
                "block_id": _TITLE_BLOCK,
                "label": {"type": "plain_text", "text": t("modal.declare.what")},
                "element": {"type": "plain_text_input", "action_id": _TITLE_ACTION, "min_length": 3, "max_length": 200},
            },
        ],
    }


async def open_declare_form(
    client: AsyncWebClient, dispatcher: Dispatcher, trigger_id: str, channel_id: str | None
) -> bool:
    """Open the form; False when Slack refused (the caller then answers as for the typed text)."""
    try:
        await client.views_open(trigger_id=trigger_id, view=declare_view(dispatcher, channel_id))
    except Exception as exc:
        log.warning("views.open failed: %s", dispatcher.deps.redact(str(exc)))
        return False
    return True


def submission_to_invocation(view: dict[str, Any], user_id: str) -> Invocation:
    """The submitted form as an invocation of `incident declare` with its fields as arguments.

    The fields go as structured values, never joined into command text: a title such as
    "Checkout can't reach the DB" would otherwise be split like a shell line (an unbalanced
    quote) after the form had already closed. The invocation is posted where the form was opened.
    """
    values = (view.get("state") or {}).get("values") or {}
    severity = ((values.get(_SEVERITY_BLOCK) or {}).get(_SEVERITY_ACTION) or {}).get("selected_option") or {}
    title = ((values.get(_TITLE_BLOCK) or {}).get(_TITLE_ACTION) or {}).get("value") or ""
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except ValueError:
        channel = None
    arguments = {"severity": str(severity.get("value", "")), "title": " ".join(str(title).split())}
    return Invocation(text=DECLARE_COMMAND, user_id=user_id, channel_id=channel, source="modal", arguments=arguments)


async def run_submission(client: AsyncWebClient, dispatcher: Dispatcher, user_id: str, view: dict[str, Any]) -> None:
    """Dispatch the form as the command; post the answer where the form was opened (or to the user)."""
    invocation = submission_to_invocation(view, user_id)
    channel = invocation.channel_id
    result = await dispatcher.dispatch(invocation)
    message = render_slack(result)
    target = channel or user_id
    try:
        if message.ephemeral and channel:
            await client.chat_postEphemeral(channel=channel, user=user_id, text=message.text, blocks=message.blocks)
        else:
            await client.chat_postMessage(channel=target, text=message.text, blocks=message.blocks)
    except Exception as exc:
        log.error("could not post the declared incident: %s", dispatcher.deps.redact(str(exc)))
