"""What an answer typed at a numbered choice means.

A tired person types `y`, `yes`, `Confirm` or `3` at "Choose a number": each must either pick
a button or be told what would, never be dropped in silence. The rules, in order:

- empty (Enter) or end of input: skip, the choice is left open;
- a number from 1 to the count: that button;
- a button's label, case-insensitive (`confirm`, `CANCEL`): that button. A label is what the
  person reads next to the number, so it is as unmistakable as the number; `y` or `yes` is not
  a label and is refused, since guessing which button it means at a destructive step is the
  very mistake this prompt exists to prevent;
- the bot's slash command (`/ops …`): a new command; the shell says the choice was left open,
  then runs it;
- anything else: invalid; the shell says "Type 1 or 2" and asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.output.results import Button
from bot.text.messages import Catalog

Kind = Literal["pick", "skip", "command", "invalid"]


@dataclass(frozen=True)
class Answer:
    """One answer, read: `index` is set for a pick, `command` for a typed command."""

    kind: Kind
    index: int | None = None
    command: str | None = None


def read_answer(line: str | None, choices: list[Button], prefix: str) -> Answer:
    """The meaning of `line` (None: end of input) at a prompt offering `choices`."""
    if line is None or not line.strip():
        return Answer("skip")
    text = line.strip()
    if text.isdigit():
        number = int(text)
        return Answer("pick", index=number - 1) if 1 <= number <= len(choices) else Answer("invalid")
    if text == prefix or text.startswith(f"{prefix} "):
        return Answer("command", command=text)
    typed = _words(text)
    for index, choice in enumerate(choices):
        if typed and _words(choice.label) == typed:
            return Answer("pick", index=index)
    return Answer("invalid")


def _words(label: str) -> str:
    """A label as compared: case-folded, letters and digits only (`✅ Confirm` is `confirm`)."""
    kept = "".join(c if c.isalnum() else " " for c in label.casefold())
    return " ".join(kept.split())


def numbers_phrase(count: int, t: Catalog) -> str:
    """`1 or 2`, `1, 2 or 3` in the catalog's language: the numbers that are a choice."""
    numbers = [str(n) for n in range(1, count + 1)]
    if len(numbers) == 1:
        return numbers[0]
    return f"{', '.join(numbers[:-1])}{t('shell.choice.or')}{numbers[-1]}"


def choices_lines(choices: list[Button]) -> str:
    """The numbered list, as render_text shows it, for asking again."""
    return "\n".join(f"  [{n}] {choice.label}" for n, choice in enumerate(choices, 1))
