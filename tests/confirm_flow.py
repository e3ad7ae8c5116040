"""Drive a destructive command through its confirmation as people would: click the buttons."""

from __future__ import annotations

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Button, Buttons, Result


def buttons(result: Result) -> list[Button]:
    return [b for block in result.blocks if isinstance(block, Buttons) for b in block.buttons]


def button_command(result: Result, verb: str) -> str:
    """The command behind the Confirm / Cancel / Approve button (`/ops confirm <id>`)."""
    for button in buttons(result):
        if button.command.split()[1:2] == [verb]:
            return button.command
    raise AssertionError(f"no {verb} button in {result!r}")


async def click(runtime: Runtime, result: Result, verb: str, user: str, channel: str = "C1") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(button_command(result, verb), user, channel, "button"))


async def run_confirmed(
    runtime: Runtime, text: str, user: str, approver: str | None = None, channel: str = "C1"
) -> Result:
    """Type the command, confirm it as the requester and, for a critical step, approve it as `approver`."""
    preview = await runtime.dispatcher.dispatch(Invocation(text, user, channel, "slack"))
    if not buttons(preview):
        return preview
    confirmed = await click(runtime, preview, "confirm", user, channel)
    if approver is None:
        return confirmed
    return await click(runtime, confirmed, "approve", approver, channel)
