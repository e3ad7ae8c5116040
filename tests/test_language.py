"""Language (issue 13): every catalog entry renders in English and Spanish, counts take their
plural form, numbers and durations follow the locale (Babel), and no English is left in Spanish.

The catalog-wide tests render every entry with sample values for every field it names (nested
fields of inline plurals included), so a new key that breaks formatting fails here at once.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest

from bot.text import locale as lc
from bot.text.messages import CATALOG, Catalog

# Words that only English uses; none may be left in a Spanish sentence (code in backticks aside).
ENGLISH_ONLY = frozenset(
    [
        "the",
        "and",
        "of",
        "is",
        "are",
        "was",
        "were",
        "with",
        "from",
        "ago",
        "this",
        "that",
        "there",
        "yet",
        "will",
        "would",
        "could",
        "has",
        "have",
        "been",
        "cannot",
        "only",
        "please",
        "found",
        "failed",
        "running",
        "stopped",
    ]
)
SAMPLE_COUNTS = (0, 1, 2, 1000)


def field_names(template: str) -> set[str]:
    """Every field a template uses, including those inside a format spec (`{n:one=# of {total}}`)."""
    found: set[str] = set()
    for _, name, spec, _ in string.Formatter().parse(template):
        if name:
            found.add(name)
        if spec:
            found |= field_names(spec)
    return found


def templates(key: str, locale: str) -> list[str]:
    value = CATALOG[key][locale]
    return list(value.values()) if isinstance(value, dict) else [value]


def entry_fields(key: str) -> set[str]:
    return {name for locale in ("en", "es") for text in templates(key, locale) for name in field_names(text)}


def sample(key: str, count: int = 7) -> dict[str, object]:
    """A value for every field: numbers for all (numbers work in `{x}`, `{x:n}` and plural specs)."""
    return {name: count for name in entry_fields(key)}


def prose(text: str) -> set[str]:
    """The words of a rendered sentence, without code spans, URLs and config keys."""
    text = re.sub(r"`[^`]*`|https?://\S+|\b\w+\.\w+\b", " ", text)
    return set(re.findall(r"[a-záéíóúñü']+", text.lower()))


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_entry_renders_in_both_languages(key: str) -> None:
    values = sample(key)
    rendered = {locale: Catalog(locale)(key, **values) for locale in ("en", "es")}
    for locale, text in rendered.items():
        leftover = re.findall(r"{(\w+)[^{}]*}", text)
        # a field the template names but was not filled shows as `{field}` (Catalog's fallback)
        assert not set(leftover) & entry_fields(key), (key, locale, text)
        assert text.strip(), (key, locale)
    if rendered["en"] == rendered["es"]:
        # the same text in both is fine only for names and codes (`PONG`, `Tenant 7`, `viewer`)
        assert not prose(rendered["en"]) & ENGLISH_ONLY, (key, rendered["en"])
    assert not prose(rendered["es"]) & ENGLISH_ONLY, (key, rendered["es"])


def is_plural(key: str, locale: str) -> bool:
    """A plural entry (one form per category) or a template with an inline plural."""
    return isinstance(CATALOG[key][locale], dict) or any("one=" in text for text in templates(key, locale))


PLURALS = sorted(k for k in CATALOG if is_plural(k, "en") or is_plural(k, "es"))


def test_there_are_plural_entries_to_check() -> None:
    assert len(PLURALS) >= 30, PLURALS


@pytest.mark.parametrize("key", PLURALS)
def test_plural_entries_take_the_form_of_their_count(key: str) -> None:
    """0, 2 and 1000 read `other`, 1 reads `one`, in each language whose sentence has a plural."""
    for locale in ("en", "es"):
        if not is_plural(key, locale):
            continue
        t = Catalog(locale)
        forms = {n: t(key, **sample(key, n)) for n in SAMPLE_COUNTS}
        # with every number written N, 0, 2 and 1000 read the same (`other`) and 1 reads differently
        normalized = {n: re.sub(r"\d[\d.,]*", "N", forms[n]) for n in SAMPLE_COUNTS}
        assert normalized[1] != normalized[2], (key, locale, forms)
        assert normalized[0] == normalized[2] == normalized[1000], (key, locale, forms)
        assert not re.search(r"\(s\)|\(es\)", forms[2]), (key, locale, forms[2])
        if ":n" in str(CATALOG[key][locale]) or "=#" in str(CATALOG[key][locale]) or "# " in str(CATALOG[key][locale]):
            assert ("1,000" if locale == "en" else "1.000") in forms[1000], (key, locale, forms[1000])


def test_the_examples_of_the_issue() -> None:
    en, es = Catalog("en"), Catalog("es")
    assert en("logs.summary", count=1, container="api", filters="") == "1 line from api."
    assert en("logs.summary", count=3, container="api", filters="") == "3 lines from api."
    assert es("logs.summary", count=1, container="api", filters="") == "1 línea de api."
    assert es("logs.summary", count=20000, container="api", filters="") == "20.000 líneas de api."
    assert en("logs.summary", count=20000, container="api", filters="") == "20,000 lines from api."
    assert es("diagnose.log_errors", errors=1, lines=100) == "1 de 100 líneas menciona un error"
    assert es("diagnose.log_errors", errors=3, lines=100) == "3 de 100 líneas mencionan un error"
    assert en("diagnose.log_errors", errors=1, lines=100) == "1 of 100 lines mentions an error"
    assert en("containers.restart.preview", count=1) == "Will restart 1 container:"
    assert es("containers.restart.preview", count=2) == "Se reiniciarán 2 contenedores:"
    assert es("queue.list_summary", count=1, failed=30) == "1 cola, 30 jobs fallidos en total."


def test_spanish_millions_fall_back_to_other_when_an_entry_has_no_many_form() -> None:
    """CLDR gives Spanish a `many` category for 1 000 000; the catalog's `other` covers it."""
    assert lc.plural_category(1_000_000, "es") == "many"
    assert Catalog("es")("logs.summary", count=1_000_000, container="api", filters="") == "1.000.000 líneas de api."


def test_numbers_follow_the_locale() -> None:
    assert lc.format_number(20000, "en") == "20,000"
    assert lc.format_number(20000, "es") == "20.000"
    assert lc.format_number(0.5, "es", 2) == "0,50"
    assert lc.format_number(1234.5, "en", 1) == "1,234.5"
    assert lc.format_number("n/a", "es") == "n/a"
    assert lc.format_number(True, "en") == "True"
    assert Catalog("es").number(1234567) == "1.234.567"


def test_a_number_field_with_a_string_value_is_shown_as_it_is() -> None:
    """A call site that formatted the number itself (or passes "—") never loses the sentence."""
    assert Catalog("es")("logs.summary", count="—", container="api", filters="") == "— líneas de api."


def test_durations_follow_the_locale() -> None:
    assert lc.format_duration(timedelta(hours=1, minutes=5), "en") == "1h 5m"
    assert lc.format_duration(timedelta(hours=1, minutes=5), "es") == "1h 5min"
    assert lc.format_duration(timedelta(seconds=42), "es") == "42s"
    assert lc.format_duration(timedelta(milliseconds=850), "es") == "850 ms"
    assert lc.format_duration(timedelta(0), "en") == "0s"
    # a timedelta field is localized by the catalog itself
    text = Catalog("es")("alerts.silenced", matchers="alertname=X", duration=timedelta(hours=2), id="abc")
    assert "por 2h en" in text, text
    text = Catalog("es")("logs.follow.started", service="api", duration=timedelta(minutes=2), until="x", command="c")
    assert "durante 2min" in text, text


def test_relative_times_say_ago_in_the_language() -> None:
    assert lc.format_ago(timedelta(minutes=5), "es") == "hace 5 min"
    assert lc.format_ago(timedelta(hours=3), "es") == "hace 3 h"
    assert lc.format_ago(timedelta(minutes=5), "en") == "5 min. ago"
    assert lc.format_ago(timedelta(days=2), "en") == "2 days ago"
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert lc.format_since(now - timedelta(minutes=5), "es", now) == "hace 5 min"
    # a clock a little ahead (a moment "in the future") reads as just now, never "dentro de 3 s"
    assert lc.format_since(now + timedelta(seconds=3), "es", now) == "hace 1 s"
    assert Catalog("es").ago(timedelta(0)) == "hace 1 s"


def test_lists_join_in_the_language() -> None:
    assert Catalog("es").words(["`api`", "`db`", "`redis`"], "or") == "`api`, `db` o `redis`"
    assert Catalog("en").words(["`api`", "`db`", "`redis`"], "or") == "`api`, `db`, or `redis`"


def test_a_moment_says_its_zone() -> None:
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert lc.format_moment(moment, "es", ZoneInfo("America/Santiago")) == "2026-01-02 00:04 -03"
    assert lc.format_moment(moment, "en", ZoneInfo("Europe/Madrid")) == "2026-01-02 04:04 CET"
    assert lc.format_moment(moment, "en") == "2026-01-02 03:04 UTC"
