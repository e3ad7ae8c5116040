"""What a handler returns: plain data that `render_slack` and `render_text` turn into a message.

Handlers never format for Slack; text here is plain and the renderers escape it, so a
value echoed from user input (`<!channel>`, `<@U…>`) can never become markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.text.redact import Redactor

CheckState = Literal["ok", "warn", "fail", "timeout", "not_run"]
"""`not_run`: a step that never started (an earlier one failed) is not a failure of its own."""
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
    channel: str | None = None
    """Where the click runs, for a button shown outside any channel (the App Home tab): a
    confirmation is bound to the channel it was asked in, so its Confirm runs there."""


@dataclass(frozen=True)
class Buttons:
    buttons: list[Button]


@dataclass(frozen=True)
class Verification:
    """What a destructive step's effect looks like when re-read after it ran.

    `heading` is the verdict already in the user's language ("✅ verified" / "❌ not
    verified"); each check says what was observed, so the message tells what is true now,
    not what the bot hoped. Built by `bot.core.verify`, which also puts it in the audit row.
    """

    verified: bool
    heading: str
    checks: list[Check]


Block = Text | Fields | Table | Code | Checks | Attachment | Buttons | Verification


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

    @property
    def verification(self) -> Verification | None:
        """The step's verification block, if it has one (the last one wins)."""
        found = [b for b in self.blocks if isinstance(b, Verification)]
        return found[-1] if found else None


TEXT_LIMIT = 40_000
"""Characters of one string of a result (a paragraph, a code block, a field) that go out; Slack
shows at most 3,000 per section, and the renderers put long text in a file."""
CELL_LIMIT = 2_000
FILE_LIMIT = 2_000_000
"""Characters of one attached file: about 2 MB, a sane upload."""


def redact_result(result: Result, redact: Callable[[str], str]) -> Result:
    """The same result with every string passed through `redact`: the last gate before output.

    Every string is cut to its limit before it is redacted (and so before it is rendered),
    with a "… cut N characters" note: what a handler forgot to bound costs its limit, not its
    size. With a `Redactor` the cut also masks a secret it splits, and the note is localised.
    """
    bounded = redact.bounded if isinstance(redact, Redactor) else _bounded_by(redact)

    def text(value: str) -> str:
        return bounded(value, TEXT_LIMIT)

    def cell(value: str) -> str:
        return bounded(value, CELL_LIMIT)

    def clean(block: Block) -> Block:
        if isinstance(block, Text):
            return replace(block, text=text(block.text))
        if isinstance(block, Fields):
            return Fields([(cell(k), text(v)) for k, v in block.pairs])
        if isinstance(block, Table):
            return Table([cell(c) for c in block.columns], [[cell(c) for c in row] for row in block.rows])
        if isinstance(block, Code):
            return Code(text(block.text))
        if isinstance(block, Checks):
            return Checks([replace(c, name=cell(c.name), detail=text(c.detail)) for c in block.checks])
        if isinstance(block, Verification):
            checks = [replace(c, name=cell(c.name), detail=text(c.detail)) for c in block.checks]
            return replace(block, heading=cell(block.heading), checks=checks)
        if isinstance(block, Attachment):
            try:
                raw = block.content.decode("utf-8")
            except UnicodeDecodeError:  # a picture the bot drew (a chart): no text in it to leak
                return replace(block, title=cell(block.title))
            content = bounded(raw[: FILE_LIMIT * 4], FILE_LIMIT).encode()
            return replace(block, content=content, title=cell(block.title))
        if isinstance(block, Buttons):
            return Buttons(
                [
                    replace(
                        b,
                        label=cell(b.label),
                        confirm_title=cell(b.confirm_title) if b.confirm_title else b.confirm_title,
                        confirm_text=text(b.confirm_text) if b.confirm_text else b.confirm_text,
                    )
                    for b in block.buttons
                ]
            )
        return block

    return replace(
        result,
        title=cell(result.title),
        blocks=[clean(b) for b in result.blocks],
        summary=text(result.summary),
    )


def _bounded_by(redact: Callable[[str], str]) -> Callable[[str, int], str]:
    """Cut-then-redact for a plain redacting function (tests, wrappers), with the English note."""
    note = Redactor()

    def bounded(value: str, limit: int) -> str:
        if len(value) <= limit:
            return redact(value)
        return redact(value[:limit]) + note.cut_note(len(value) - limit)

    return bounded
