"""Turn a Result into a Slack message: Block Kit through slack_sdk's models, which check
Slack's limits, with every piece of data escaped so echoed input cannot become markup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.output.layout import format_table
from bot.output.results import (
    Attachment,
    Block,
    Buttons,
    Check,
    Checks,
    Code,
    Fields,
    Result,
    Table,
    Text,
    Verification,
)

SECTION_LIMIT = 2900
MAX_BLOCKS = 48
RUN_ACTION = "ops_run"
STATE_ICON = {"ok": "✅", "warn": "⚠️", "fail": "❌", "timeout": "⏱️", "not_run": "⏭️"}


def escape(text: str) -> str:
    """Slack's three control characters; after this no `<!channel>` or `<@U…>` survives."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def button_value(command: str, channel: str | None = None) -> str:
    """A button's value: the command, or with the channel it runs in (an App Home button)."""
    if channel is None:
        return command[:2000]
    return json.dumps({"command": command[:1800], "channel": channel})


def read_button_value(value: str) -> tuple[str, str | None]:
    """(command, channel) from a clicked button's value (see button_value); a command is never JSON."""
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            return value, None
        if isinstance(data, dict) and isinstance(data.get("command"), str):
            channel = data.get("channel")
            return data["command"], channel if isinstance(channel, str) else None
    return value, None


def _code(text: str) -> str:
    return "```" + escape(text).replace("```", "ˋˋˋ") + "```"


@dataclass
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    ephemeral: bool = False


def check_line(check: Check) -> str:
    latency = f" · {check.latency_ms:.0f} ms" if check.latency_ms is not None else ""
    return f"{STATE_ICON[check.state]} *{escape(check.name)}* — {escape(check.detail)}{latency}"


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            out.append(current)
            current = ""
        current += line
    if current:
        out.append(current)
    return out


def _preformatted(body: str, filename: str, title: str, files: list[Attachment]) -> list[Any]:
    """Short text inline; long text shows its tail inline and goes up whole as a file."""
    if len(body) + 6 <= SECTION_LIMIT:
        return [SectionBlock(text=MarkdownTextObject(text=_code(body)))]
    files.append(Attachment(filename=filename, content=body.encode(), title=title))
    budget = SECTION_LIMIT - 200
    tail: list[str] = []
    size = 0
    for line in reversed(body.splitlines()):
        if tail and size + len(line) + 1 > budget:
            break
        tail.insert(0, line[:budget])  # the newest line always, cut to fit if it is longer
        size += len(tail[0]) + 1
        if size >= budget:
            break
    return [SectionBlock(text=MarkdownTextObject(text=_code("\n".join(tail))))]


def _block(block: Block, result: Result, files: list[Attachment], index: int) -> list[Any]:
    if isinstance(block, Text):
        text = block.text if block.markup else escape(block.text)
        return [SectionBlock(text=MarkdownTextObject(text=part)) for part in _chunks(text)]
    if isinstance(block, Fields):
        out: list[Any] = []
        for start in range(0, len(block.pairs), 10):
            fields = [
                MarkdownTextObject(text=f"*{escape(k)}*\n{escape(v)}"[:2000])
                for k, v in block.pairs[start : start + 10]
            ]
            out.append(SectionBlock(fields=fields))
        return out
    if isinstance(block, Table):
        name = f"{_slug(result.title) or 'table'}-{index}.txt"
        return _preformatted(format_table(block.columns, block.rows), name, result.title, files)
    if isinstance(block, Code):
        name = f"{_slug(result.title) or 'output'}-{index}.txt"
        return _preformatted(block.text, name, result.title, files)
    if isinstance(block, Checks):
        text = "\n".join(check_line(c) for c in block.checks)
        return [SectionBlock(text=MarkdownTextObject(text=part)) for part in _chunks(text)]
    if isinstance(block, Verification):
        lines = [f"*{escape(block.heading)}*", *(check_line(c) for c in block.checks)]
        return [SectionBlock(text=MarkdownTextObject(text=part)) for part in _chunks("\n".join(lines))]
    if isinstance(block, Attachment):
        files.append(block)
        return []
    if isinstance(block, Buttons):
        elements = []
        for number, button in enumerate(block.buttons[:25]):
            confirm = None
            if button.confirm_title:
                confirm = ConfirmObject(
                    title=button.confirm_title[:100],
                    text=escape(button.confirm_text or button.label)[:300],
                    confirm="Confirm" if button.style != "danger" else button.label[:30],
                    deny="Cancel",
                    style="danger" if button.style == "danger" else None,
                )
            elements.append(
                ButtonElement(
                    text=button.label[:75],
                    action_id=f"{RUN_ACTION}:{number}",
                    value=button_value(button.command, button.channel),
                    style=button.style,
                    confirm=confirm,
                )
            )
        return [ActionsBlock(elements=elements)]
    raise TypeError(f"cannot render {type(block).__name__}")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:40]


def render_slack(result: Result) -> SlackMessage:
    files: list[Attachment] = []
    blocks: list[Any] = []
    if result.title:
        blocks.append(HeaderBlock(text=result.title[:150]))
    for index, block in enumerate(result.blocks):
        blocks.extend(_block(block, result, files, index))
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], ContextBlock(elements=[MarkdownTextObject(text="…")])]
    first = _first_text(result)
    if result.summary or result.title:
        fallback = escape(result.summary or result.title)
    else:
        fallback = first.text if first is not None and first.markup else escape(first.text if first else "")
    return SlackMessage(
        text=fallback[:3000],
        blocks=[b.to_dict() for b in blocks],
        files=files,
        ephemeral=result.ephemeral,
    )


def _first_text(result: Result) -> Text | None:
    for block in result.blocks:
        if isinstance(block, Text):
            return block
    return None
