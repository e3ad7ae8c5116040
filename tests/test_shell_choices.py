"""The rules of a numbered choice (bot/terminal/choices.py), every kind of answer a tired person
types, in both languages. The shell applying them on a real terminal: tests/test_shell_pty.py."""

from __future__ import annotations

import pytest

from bot.output.results import Button
from bot.terminal.choices import numbers_phrase, read_answer
from bot.text.messages import Catalog

CONFIRM = [Button("Confirm", "/ops confirm abc", style="primary"), Button("Cancel", "/ops cancel abc")]


@pytest.mark.parametrize("typed", ["y", "yes", "3", "0", "-1", "1.", "confirmar", "exit", "Confirm it", "ops pending"])
def test_what_is_not_a_choice_is_invalid(typed: str) -> None:
    assert read_answer(typed, CONFIRM, "/ops").kind == "invalid"


@pytest.mark.parametrize(("typed", "index"), [("1", 0), (" 2 ", 1), ("confirm", 0), ("CANCEL", 1), ("Confirm", 0)])
def test_a_number_or_a_label_in_any_case_picks(typed: str, index: int) -> None:
    answer = read_answer(typed, CONFIRM, "/ops")
    assert (answer.kind, answer.index) == ("pick", index)


def test_a_label_with_an_emoji_is_matched_by_its_words() -> None:
    buttons = [Button("✅ Retry failed", "/ops queue retry payments all"), Button("⏹ Stop", "/ops logs stop x")]
    assert read_answer("retry failed", buttons, "/ops").index == 0
    assert read_answer("stop", buttons, "/ops").index == 1
    assert read_answer("✅", buttons, "/ops").kind == "invalid", "a label's emoji alone names no button"


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_enter_or_the_end_of_input_skips(typed: str | None) -> None:
    assert read_answer(typed, CONFIRM, "/ops").kind == "skip"


def test_the_bots_command_is_a_new_command_not_an_answer() -> None:
    answer = read_answer("/ops pending", CONFIRM, "/ops")
    assert (answer.kind, answer.command) == ("command", "/ops pending")
    assert read_answer("/opsy", CONFIRM, "/ops").kind == "invalid"


@pytest.mark.parametrize(
    ("count", "locale", "phrase"),
    [(1, "en", "1"), (2, "en", "1 or 2"), (3, "en", "1, 2 or 3"), (2, "es", "1 o 2"), (4, "es", "1, 2, 3 o 4")],
)
def test_the_numbers_that_are_a_choice_in_each_language(count: int, locale: str, phrase: str) -> None:
    assert numbers_phrase(count, Catalog(locale)) == phrase


def test_the_hint_in_spanish_has_no_english_left() -> None:
    t = Catalog("es")
    hint = t("shell.choice.invalid", numbers=numbers_phrase(2, t))
    assert hint == "Escribe 1 o 2 (o el nombre de un botón); Enter deja la elección abierta."
