"""The catalog is complete: every key used in the code exists, in English and Spanish."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.text.messages import CATALOG, Catalog

REPO = Path(__file__).resolve().parent.parent
# t("key", …), ctx.t("key"), Msg.of("key", …), SomeError("key", …), key="…" arguments
_USE = re.compile(r"""(?:\bt|\.t|Msg\.of|Error)\(\s*f?["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def keys_used() -> set[str]:
    found: set[str] = set()
    for path in [*REPO.glob("bot/**/*.py"), *REPO.glob("handlers/**/*.py")]:
        for match in _USE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1))
    return found


def test_every_key_used_in_the_code_is_in_the_catalog() -> None:
    used = keys_used()
    assert len(used) > 50, "the scan found too few keys: is the pattern still right?"
    missing = sorted(k for k in used if k not in CATALOG and not k.endswith("."))
    assert not missing, f"keys used but not in bot/text/messages.py: {missing}"


def test_every_entry_speaks_english_and_spanish() -> None:
    incomplete = sorted(k for k, v in CATALOG.items() if not v.get("en") or not v.get("es"))
    assert not incomplete, f"entries without both languages: {incomplete}"


def _fields(value: str | dict[str, str]) -> set[str]:
    """The `{field}` / `{field:spec}` names of a template (those nested in an inline plural's
    spec too), or of a plural entry's `other` form."""
    template = value.get("other", "") if isinstance(value, dict) else value
    found: set[str] = set()
    for _, name, spec, _ in string.Formatter().parse(template):
        found |= {name} if name else set()
        found |= _fields(spec) if spec else set()
    return found


def test_placeholders_match_between_languages() -> None:
    mismatched = sorted(k for k, v in CATALOG.items() if _fields(v["en"]) != _fields(v.get("es", v["en"])))
    assert not mismatched, f"en/es placeholders differ: {mismatched}"


def test_spanish_locale_is_used_and_unknown_keys_are_visible() -> None:
    assert Catalog("es")("confirm.button.cancel") == "Cancelar"
    assert Catalog("xx")("confirm.button.cancel") == "Cancel"
    assert Catalog("es")("no.such.key") == "no.such.key"


def test_every_visible_operation_has_its_help_in_spanish() -> None:
    import handlers  # noqa: F401  registers every operation
    from bot.core.registry import REGISTRY
    from bot.text.messages import OPERATION_HELP_ES

    missing = sorted(op.name for op in REGISTRY if not op.hidden and op.name not in OPERATION_HELP_ES)
    assert not missing, f"add a Spanish help line to OPERATION_HELP_ES for: {missing}"
