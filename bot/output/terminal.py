"""Turn a Result into terminal text; buttons become numbered choices."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.output.layout import format_table
from bot.output.results import Attachment, Button, Buttons, Checks, Code, Fields, Result, Table, Text, Verification

STATE_MARK = {"ok": "[ok]", "warn": "[warn]", "fail": "[FAIL]", "timeout": "[timeout]", "not_run": "[not run]"}
MAX_INLINE_LINES = 200


_MENTION = re.compile(r"<([@#!])([A-Za-z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def plain(markup: str) -> str:
    """Slack markup the bot composed, for a terminal: `<@U1>` → `@U1`, entities decoded."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", markup)
    text = _MENTION.sub(lambda m: m.group(1).replace("!", "@") + (m.group(3) or m.group(2)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass
class TextMessage:
    text: str
    choices: list[Button] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)


def render_text(result: Result) -> TextMessage:
    out: list[str] = []
    choices: list[Button] = []
    files: list[Attachment] = []
    if result.title:
        out.append(f"== {result.title} ==")
    for block in result.blocks:
        if isinstance(block, Text):
            out.append(plain(block.text) if block.markup else block.text)
        elif isinstance(block, Fields):
            width = max((len(k) for k, _ in block.pairs), default=0)
            out.extend(f"{k.ljust(width)}  {v}" for k, v in block.pairs)
        elif isinstance(block, Table):
            out.append(format_table(block.columns, block.rows))
        elif isinstance(block, Code):
            lines = block.text.splitlines()
            if len(lines) > MAX_INLINE_LINES:
                files.append(Attachment("output.txt", block.text.encode(), result.title))
                lines = lines[-MAX_INLINE_LINES:]
            out.append("\n".join(lines))
        elif isinstance(block, Checks):
            for check in block.checks:
                latency = f" ({check.latency_ms:.0f} ms)" if check.latency_ms is not None else ""
                out.append(f"{STATE_MARK[check.state]:<9} {check.name}: {check.detail}{latency}")
        elif isinstance(block, Verification):
            out.append(block.heading)
            for check in block.checks:
                out.append(f"  {STATE_MARK[check.state]:<9} {check.name}: {check.detail}")
        elif isinstance(block, Attachment):
            files.append(block)
        elif isinstance(block, Buttons):
            for button in block.buttons:
                choices.append(button)
                out.append(f"  [{len(choices)}] {button.label}")
    return TextMessage("\n".join(out), choices, files)


def save_files(files: list[Attachment], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    saved = []
    for attachment in files:
        path = directory / Path(attachment.filename).name
        path.write_bytes(attachment.content)
        saved.append(path)
    return saved
