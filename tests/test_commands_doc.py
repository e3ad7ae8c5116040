"""docs/commands.md is the registry's own reference: a new or changed operation that is not in it fails."""

from __future__ import annotations

from pathlib import Path

import handlers  # noqa: F401  registers every operation
from bot.core.registry import REGISTRY
from handlers.help import commands_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "commands.md"


def test_the_command_reference_is_generated_from_the_registry_and_current() -> None:
    expected = commands_markdown(REGISTRY)
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/commands.md is stale: run `python scripts/commands_md.py > docs/commands.md`"
    )


def test_every_visible_operation_has_a_row_with_its_role_and_level() -> None:
    text = DOC.read_text(encoding="utf-8")
    for op in REGISTRY:
        usage = op.usage().replace("|", "\\|")
        if op.hidden and not op.answer:
            assert f"`{usage}`" not in text
            continue
        row = next(line for line in text.splitlines() if line.startswith(f"| `{usage}` |"))
        assert f"| {op.role} |" in row


def test_the_answers_to_a_button_are_documented_under_their_own_heading() -> None:
    """`/ops confirm`, `cancel`, `approve` and `logs stop` answer whoever types them: the reader
    finds them in the reference (issue 24, item 10)."""
    text = DOC.read_text(encoding="utf-8")
    answers = text[text.index("## Answers to a button") :]
    for usage in ("/ops confirm <id>", "/ops cancel <id>", "/ops approve <id>", "/ops logs stop <id>"):
        assert f"| `{usage}` |" in answers, usage
