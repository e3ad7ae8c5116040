"""Numbers, plurals, durations and times in the reader's language, through Babel (CLDR data).

Why Babel and not hand-formatting: `20.000` vs `20,000`, "1 línea" vs "0 líneas", "hace 5 min"
vs "5 min. ago" are CLDR rules that differ per language in ways a `replace(",", ".")` gets
wrong (decimals, millions taking Spanish's `many` category, Babel's own relative-time words).
Every function takes the catalog's locale code (`en`, `es`) and never raises on an odd value:
a number that is not a number is shown as it came, so a sentence is never lost to formatting.

Why not gettext `.po` catalogs now: every sentence lives in `bot/text/messages.py` (CATALOG),
and several people add keys to it at once; moving it to `.po` files in the same round would
conflict with all of them. The catalog's shape already maps onto gettext: a key is a msgctxt or
msgid, an entry's `en`/`es` strings are msgstr, and a plural entry (`{"one": …, "other": …}`)
is an `msgid_plural` with `msgstr[n]` in CLDR order. A later move can generate `.po` files from
CATALOG with a short script (Babel's `babel.messages.catalog.Catalog` + `pofile.write_po`),
switch `Catalog.__call__` to `gettext.translation(...).npgettext`, and keep these helpers,
which are gettext-independent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from babel import Locale
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_timedelta as _babel_timedelta
from babel.lists import format_list
from babel.numbers import format_decimal

PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


@lru_cache(maxsize=8)
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code)
    except (ValueError, TypeError, LookupError):
        return Locale.parse("en")


def is_number(value: Any) -> bool:
    """An int, float or Decimal, not a bool (True is not "1")."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def plural_category(count: Any, locale: str) -> str:
    """The CLDR plural category of `count` in `locale` (`one`, `many`, `other`…); `other` if not a number."""
    if not is_number(count):
        try:
            count = Decimal(str(count).replace(",", "").replace(".", "").strip())
        except ArithmeticError:
            return "other"
    try:
        return str(_locale(locale).plural_form(abs(count)))
    except (ValueError, TypeError, ArithmeticError):
        return "other"


def format_number(value: Any, locale: str, decimals: int | None = None) -> str:
    """`20,000` / `20.000`; with `decimals`, that many fractional digits (`0.5` → `0,50`)."""
    if not is_number(value):
        return str(value)
    if decimals is None:
        return format_decimal(value, locale=_locale(locale))
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=_locale(locale))


def format_duration(delta: timedelta, locale: str, parts: int = 2) -> str:
    """A short duration in at most `parts` units: `1h 5m` / `1h 5min`, `42s`, `850 ms`."""
    total = delta.total_seconds()
    if 0 < abs(total) < 1:
        return f"{format_number(round(total * 1000), locale)} ms"
    remaining = round(abs(total))
    shown: list[str] = []
    for unit, size in _UNITS:
        amount, remaining = divmod(remaining, size)
        if amount and len(shown) < parts:
            # an exact amount of one unit, so Babel's rounding threshold never changes it
            shown.append(
                _babel_timedelta(
                    timedelta(seconds=amount * size),
                    granularity=unit,
                    threshold=1,
                    format="narrow",
                    locale=_locale(locale),
                )
            )
        elif shown:
            break
    return " ".join(shown) or _babel_timedelta(
        timedelta(0), granularity="second", format="narrow", locale=_locale(locale)
    )


def format_ago(delta: timedelta, locale: str) -> str:
    """A past moment relative to now, in one unit as people say it: `5 min. ago` / `hace 5 min`."""
    # Babel reads 0 as the future ("dentro de 0 s"): under a second is said as 1 s ago
    delta = max(abs(delta), timedelta(seconds=1))
    return _babel_timedelta(-delta, add_direction=True, format="short", threshold=1.0, locale=_locale(locale))


def format_since(moment: datetime, locale: str, now: datetime | None = None) -> str:
    """How long ago an aware `moment` was (`hace 3 h`); a moment in the future reads as now."""
    now = now or datetime.now(UTC)
    return format_ago(max(now - moment, timedelta(0)), locale)


def format_moment(moment: datetime, locale: str, tz: tzinfo | None = None, with_zone: bool = True) -> str:
    """A date and time in `tz` (ISO-like, the same in both languages) with the zone's name when asked."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = tz or UTC
    text = _babel_datetime(moment, "yyyy-MM-dd HH:mm", tzinfo=zone, locale=_locale(locale))
    # the zone's own abbreviation (`CET`, `-03`): CLDR's English short names cover few zones
    return f"{text} {moment.astimezone(zone).tzname()}" if with_zone else text


def format_words(items: list[str], locale: str, style: str = "standard") -> str:
    """A list as the language joins it: `a, b, and c` / `a, b y c`; `style="or"` for alternatives."""
    if not items:
        return ""
    return format_list(items, style=style, locale=_locale(locale))  # type: ignore[arg-type]
