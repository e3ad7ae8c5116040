"""The language leftovers of issue 13: numbers in metrics tables in the reader's form, and the
sentences that read wrong at a count of 1 ("the last 1 are shown", "las primeras 1 líneas",
"1 problem(s)").

The metrics table goes through the real dispatcher against a real prometheus_client exporter;
the sentences through the real catalog at counts 1 and 3 in both languages; check-config's
count through the real `ops-bot check-config` process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botproc import bot_env, run_bot
from conftest import RuntimeFactory, base_config
from exporter import Exporter, start_exporter
from targets import HttpTarget

from bot.core.dispatcher import Invocation
from bot.output.results import Code, Result, Table, Text
from bot.text.messages import Catalog

pytestmark = pytest.mark.timeout(90)

BULK = 20_000  # requests of one route: `20,000` in English, `20.000` in Spanish


@pytest.fixture
async def exporter() -> AsyncIterator[HttpTarget]:
    found = Exporter()
    found.observe("GET", "/bulk", "200", 0.0015, BULK)
    target = await start_exporter(found)
    yield target
    await target.close()


async def ask(make_runtime: RuntimeFactory, url: str, locale: str, text: str) -> Result:
    runtime = await make_runtime(base_config(api_url=url, locale=locale))
    return await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))


def rows(result: Result) -> dict[str, list[str]]:
    table = next(b for b in result.blocks if isinstance(b, Table))
    return {row[0]: row for row in table.rows}


# ---- metrics tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "total", "share", "bar_count"),
    [("en", "20,000", "80.0%*", "20,010"), ("es", "20.000", "80,0%*", "20.010")],
)
async def test_the_latency_table_groups_and_points_numbers_as_the_reader_does(
    make_runtime: RuntimeFactory, exporter: HttpTarget, locale: str, total: str, share: str, bar_count: str
) -> None:
    result = await ask(make_runtime, exporter.url, locale, "metrics latency --window 0")
    table = rows(result)
    assert table["GET /bulk"][1] == total, table
    # 8 of the 10 POST /payments answered 500: the share with the locale's decimal mark
    assert table["POST /payments"][3] == share, table
    chart = next(b for b in result.blocks if isinstance(b, Code)).text
    first = chart.splitlines()[0]
    # the 20,000 of /bulk and the 10 × 30 ms of /orders share the first bar (≤ 50 ms)
    assert first.startswith("≤ 50 ms") and first.endswith(bar_count), chart


@pytest.mark.parametrize(("locale", "total", "window"), [("en", "20,000", "0.3s"), ("es", "20.000", "0,3s")])
async def test_family_tables_and_the_window_use_the_locale(
    make_runtime: RuntimeFactory, exporter: HttpTarget, locale: str, total: str, window: str
) -> None:
    family = await ask(make_runtime, exporter.url, locale, "metrics http_requests_total")
    values = [row[2] for row in next(b for b in family.blocks if isinstance(b, Table)).rows]
    assert total in values, values
    histogram = await ask(make_runtime, exporter.url, locale, "metrics http_request_duration_seconds")
    table = next(b for b in histogram.blocks if isinstance(b, Table))
    bulk = next(row for row in table.rows if "/bulk" in row[0])
    assert bulk[1] == total, bulk
    windowed = await ask(make_runtime, exporter.url, locale, "metrics --window 300ms")
    notes = "\n".join(b.text for b in windowed.blocks if isinstance(b, Text))
    assert window in notes, notes


# ---- sentences at 1 and 3 ----------------------------------------------------------------------

GREP = {"grep": "webhook", "container": "pedidos-api-1", "window": "todo"}
SENTENCES: list[tuple[str, str, dict[str, object], str]] = [
    (
        "en",
        "logs.grep.summary",
        {**GREP, "matched": 13, "scanned": 1, "shown": 1},
        "“webhook” matched 13 of 1 line of pedidos-api-1 (todo); only the last one is shown.",
    ),
    (
        "en",
        "logs.grep.summary",
        {**GREP, "matched": 13, "scanned": 3, "shown": 3},
        "“webhook” matched 13 of 3 lines of pedidos-api-1 (todo); the last 3 are shown.",
    ),
    (
        "es",
        "logs.grep.summary",
        {**GREP, "matched": 13, "scanned": 1, "shown": 1},
        "“webhook” coincide en 13 de 1 línea de pedidos-api-1 (todo); solo se muestra la última.",
    ),
    (
        "es",
        "logs.grep.summary",
        {**GREP, "matched": 13_000, "scanned": 30_000, "shown": 3},
        "“webhook” coincide en 13.000 de 30.000 líneas de pedidos-api-1 (todo); se muestran las últimas 3.",
    ),
    (
        "en",
        "logs.grep.summary_all",
        {**GREP, "matched": 1, "scanned": 1},
        "“webhook” matched 1 of 1 line of pedidos-api-1 (todo), shown.",
    ),
    (
        "es",
        "logs.grep.summary_all",
        {**GREP, "matched": 3, "scanned": 3},
        "“webhook” coincide en 3 de 3 líneas de pedidos-api-1 (todo), todas se muestran.",
    ),
    (
        "es",
        "logs.grep.none",
        {**GREP, "scanned": 1},
        "Ninguna línea de pedidos-api-1 (todo) contiene “webhook” (1 línea revisada).",
    ),
    (
        "en",
        "logs.grep.none",
        {**GREP, "scanned": 3},
        "No line of pedidos-api-1 (todo) contains “webhook” (3 lines searched).",
    ),
    (
        "en",
        "logs.follow.capped",
        {"kept": 1, "size": 5},
        "Only the first line (5 MB) was kept in the file.",
    ),
    (
        "en",
        "logs.follow.capped",
        {"kept": 3, "size": 5},
        "Only the first 3 lines (5 MB) were kept in the file.",
    ),
    (
        "es",
        "logs.follow.capped",
        {"kept": 1, "size": 5},
        "Solo se guardó en el archivo la primera línea (5 MB).",
    ),
    (
        "es",
        "logs.follow.capped",
        {"kept": 3, "size": 5},
        "Solo se guardaron en el archivo las primeras 3 líneas (5 MB).",
    ),
    ("en", "metrics.unknown", {"name": "x", "count": 1}, "There is no metric x in /metrics (1 family)."),
    ("en", "metrics.unknown", {"name": "x", "count": 3}, "There is no metric x in /metrics (3 families)."),
    ("es", "metrics.unknown", {"name": "x", "count": 1}, "No hay métrica x en /metrics (1 familia)."),
    ("es", "metrics.unknown", {"name": "x", "count": 3}, "No hay métrica x en /metrics (3 familias)."),
    (
        "en",
        "metrics.latency_summary",
        {"route": "/a", "p95": "9 ms", "routes": 1},
        "Slowest route: /a, p95 9 ms (1 route).",
    ),
    (
        "es",
        "metrics.latency_summary",
        {"route": "/a", "p95": "9 ms", "routes": 3},
        "Ruta más lenta: /a, p95 9 ms (3 rutas).",
    ),
    ("en", "metrics.overview_summary", {"families": 1}, "1 metric family."),
    ("es", "metrics.overview_summary", {"families": 1}, "1 familia de métricas."),
    ("es", "metrics.overview_summary", {"families": 3}, "3 familias de métricas."),
    (
        "en",
        "logs.grep.capped",
        {"size": "5 MB", "lines": 1, "since": "s"},
        "The log is larger than 5 MB: only its newest line was searched (from s). Narrow it with --since.",
    ),
    (
        "es",
        "logs.grep.capped",
        {"size": "5 MB", "lines": 3, "since": "s"},
        "El log supera 5 MB: solo se revisaron sus 3 líneas más recientes (desde s). Acótalo con --since.",
    ),
    ("en", "config.problems", {"count": 1}, "1 problem"),
    ("en", "config.problems", {"count": 3}, "3 problems"),
    ("es", "config.problems", {"count": 1}, "1 problema"),
    ("es", "config.problems", {"count": 3}, "3 problemas"),
]


@pytest.mark.parametrize(("locale", "key", "fields", "expected"), SENTENCES)
def test_a_fixed_sentence_reads_right_at_one_and_at_three(
    locale: str, key: str, fields: dict[str, object], expected: str
) -> None:
    assert Catalog(locale)(key, **fields) == expected


def test_every_fixed_key_is_checked_at_one_and_at_three_in_both_languages() -> None:
    """Guard for the table above: no fixed key is tried only in one language or one count."""
    keys = {key for _, key, _, _ in SENTENCES}
    for key in keys:
        assert {locale for locale, k, _, _ in SENTENCES if k == key} == {"en", "es"}, key


# ---- check-config through the real process ---------------------------------------------------


@pytest.mark.parametrize(
    ("slips", "said"),
    [(1, "1 problem"), (2, "2 problems")],
)
async def test_check_config_counts_its_problems_in_words(
    tmp_path: Path, bot_db_url: str, slips: int, said: str
) -> None:
    text = base_config().replace("command: /ops", "command: ops")
    if slips == 2:
        text = text.replace("base_url: http://127.0.0.1:9", "base_url: 127.0.0.1:9")
    path = tmp_path / "ops.yml"
    path.write_text(text, encoding="utf-8")
    done = await run_bot(["check-config", str(path)], bot_env(path, "http://127.0.0.1:9", bot_db_url), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}: {said}\n" in done.stderr, done.stderr
    assert "(s)" not in done.stderr and "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("  ")]) == slips, done.stderr
