"""Ids that ride inside command text must come back as the positional they are."""

from __future__ import annotations

import re

import handlers  # noqa: F401  registers every operation
from bot.core.parsing import bind_words, find_operation, split_words
from bot.core.registry import REGISTRY
from bot.text.ids import new_id
from bot.text.messages import Catalog


def test_ids_are_letters_and_digits_so_none_reads_as_a_flag() -> None:
    ids = [new_id() for _ in range(20_000)]  # token_urlsafe gave "--…" about once in 4096
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_confirm_button_value_binds_its_id() -> None:
    t = Catalog()
    for _ in range(200):
        action_id = new_id()
        parsed = find_operation(split_words(f"confirm {action_id}", t), REGISTRY, "/ops", t)
        assert bind_words(parsed.operation, parsed.words, t, "/ops")["id"] == action_id
