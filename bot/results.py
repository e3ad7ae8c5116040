"""What a handler returns: plain data that `render_slack` and `render_text` turn into a message.

Handlers never format for Slack; text here is plain and the renderers escape it, so a
value echoed from user input (`<!channel>`, `<@U…>`) can never become markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

CheckState = Literal["ok", "warn", "fail", "timeout"]
ButtonStyle = Literal["primary", "danger"] | None


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text.

    `markup=True` is only for text the bot composed itself with every user-given piece
    already escaped (`render_slack.escape`), e.g. to mention a person it pages.
    """

    text: str
    markup: bool = False


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown side by side."""

    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """Rows in aligned monospace columns; long tables become a file in Slack."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Code:
    """Preformatted text such as log lines."""

    text: str


@dataclass(frozen=True)
class Check:
    """One finding of a check: its verdict, what was seen and how long it took."""

    name: str
    state: CheckState
    detail: str
    latency_ms: float | None = None


@dataclass(frozen=True)
class Checks:
    checks: list[Check]


@dataclass(frozen=True)
class Attachment:
    """A file for the whole output; Slack gets an upload, the terminal a saved file."""

    filename: str
    content: bytes
    title: str = ""


@dataclass(frozen=True)
class Button:
    """A button that runs `command` (the same text a person would type) or a confirmation step.

    A click is dispatched like the typed command: same parsing, role check, confirmation.
    """

    label: str
    command: str
    style: ButtonStyle = None
    confirm_title: str | None = None
    confirm_text: str | None = None


@dataclass(frozen=True)
class Buttons:
    buttons: list[Button]


Block = Text | Fields | Table | Code | Checks | Attachment | Buttons


@dataclass
class Result:
    """A titled message; `ok=False` marks a failed outcome for audit and metrics.

    `replace_original` asks the adapter to edit the message a clicked button sits on
    (a confirmation moving along) instead of posting a new one.
    """

    title: str
    blocks: list[Block] = field(default_factory=list)
    ok: bool = True
    ephemeral: bool = False
    summary: str = ""
    replace_original: bool = False

    def add(self, *blocks: Block) -> Result:
        self.blocks.extend(blocks)
        return self


def redact_result(result: Result, redact: Callable[[str], str]) -> Result:
    """The same result with every string passed through `redact`: the last gate before output."""

    def clean(block: Block) -> Block:
        if isinstance(block, Text):
            return replace(block, text=redact(block.text))
        if isinstance(block, Fields):
            return Fields([(redact(k), redact(v)) for k, v in block.pairs])
        if isinstance(block, Table):
            return Table([redact(c) for c in block.columns], [[redact(c) for c in row] for row in block.rows])
        if isinstance(block, Code):
            return Code(redact(block.text))
        if isinstance(block, Checks):
            return Checks([replace(c, name=redact(c.name), detail=redact(c.detail)) for c in block.checks])
        if isinstance(block, Attachment):
            try:
                text = block.content.decode("utf-8")
            except UnicodeDecodeError:  # a picture the bot drew (a chart): no text in it to leak
                return replace(block, title=redact(block.title))
            return replace(block, content=redact(text).encode(), title=redact(block.title))
        if isinstance(block, Buttons):
            return Buttons(
                [
                    replace(
                        b,
                        label=redact(b.label),
                        confirm_title=redact(b.confirm_title) if b.confirm_title else b.confirm_title,
                        confirm_text=redact(b.confirm_text) if b.confirm_text else b.confirm_text,
                    )
                    for b in block.buttons
                ]
            )
        return block

    return replace(
        result,
        title=redact(result.title),
        blocks=[clean(b) for b in result.blocks],
        summary=redact(result.summary),
    )
