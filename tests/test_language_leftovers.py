"""The language leftovers of issue 13: numbers in metrics tables in the reader's form, and the
sentences that read wrong at a count of 1 ("the last 1 are shown", "las primeras 1 líneas",
"1 problem(s)").

The metrics table goes through the real dispatcher against a real prometheus_client exporter;
the sentences through the real catalog at counts 1 and 3 in both languages; check-config's
count through the real `ops-bot check-config` process.
"""

from __future__ import annotations

import asyncio
import re
import string
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from botproc import bot_env, run_bot
from conftest import RuntimeFactory, base_config
from exporter import Exporter, start_exporter
from prometheus_client import Gauge
from targets import HttpTarget

from bot.core.dispatcher import Invocation
from bot.output.results import Checks, Code, Result, Table, Text
from bot.text.messages import CATALOG, Catalog

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


@pytest.mark.parametrize(
    ("locale", "latency", "cache"),
    [
        ("en", "p50 1.00 s, p95 1.00 s, p99 1.00 s (3 routes,", "93.0%"),
        ("es", "p50 1,00 s, p95 1,00 s, p99 1,00 s (3 rutas,", "93,0%"),
    ],
)
async def test_diagnose_slow_uses_the_same_locale_aware_formatters(
    make_runtime: RuntimeFactory, exporter: HttpTarget, locale: str, latency: str, cache: str
) -> None:
    """diagnose borrows metrics' formatters: its findings read like the metrics table does."""
    text = base_config(api_url=exporter.url, locale=locale)
    text = text.replace("    timeout: 2s\n", "    timeout: 2s\n    metrics_window: 0s\n", 1)
    runtime = await make_runtime(text)
    result = await runtime.dispatcher.dispatch(Invocation("diagnose slow", "U0VIEW", "C1", "slack"))
    details = [c.detail for b in result.blocks if isinstance(b, Checks) for c in b.checks]
    assert any(latency in d for d in details), details
    assert any(d.startswith(cache) for d in details), details


async def test_nan_and_inf_samples_read_as_a_dash_and_inf_in_both_languages(make_runtime: RuntimeFactory) -> None:
    """Prometheus exports NaN and +Inf gauges; Babel alone would write `NaN,0` and `∞`."""
    found = Exporter()
    odd = Gauge("odd_ratio", "A ratio with nothing to divide yet", ["kind"], registry=found.registry)
    odd.labels("nan").set(float("nan"))
    odd.labels("inf").set(float("inf"))
    odd.labels("big").set(20_000)
    target = await start_exporter(found)
    try:
        for locale, big in (("en", "20,000"), ("es", "20.000")):
            result = await ask(make_runtime, target.url, locale, "metrics odd_ratio")
            values = {row[1]: row[2] for row in next(b for b in result.blocks if isinstance(b, Table)).rows}
            assert values == {'kind="big"': big, 'kind="inf"': "+Inf", 'kind="nan"': "—"}, values
    finally:
        await target.close()


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
    ("en", "diagnose.log_errors", {"errors": 1, "lines": 1}, "1 of 1 line mentions an error"),
    ("es", "diagnose.log_errors", {"errors": 1, "lines": 1}, "1 de 1 línea menciona un error"),
    ("es", "diagnose.log_errors", {"errors": 3, "lines": 3000}, "3 de 3.000 líneas mencionan un error"),
    ("en", "diagnose.step.log_errors", {"service": "api", "lines": 1}, "errors in api's last log line"),
    ("es", "diagnose.step.log_errors", {"service": "api", "lines": 3}, "errores en las últimas 3 líneas de log de api"),
    ("es", "diagnose.step.log_errors", {"service": "api", "lines": 1}, "errores en la última línea de log de api"),
    ("en", "status.summary.bad", {"bad": 1, "count": 1}, "1 of 1 check needs attention."),
    ("en", "status.summary.bad", {"bad": 3, "count": 3}, "3 of 3 checks need attention."),
    ("es", "status.summary.bad", {"bad": 1, "count": 1}, "1 de 1 chequeo requiere atención."),
    ("es", "status.summary.bad", {"bad": 1, "count": 3}, "1 de 3 chequeos requiere atención."),
    ("en", "diagnose.summary.bad", {"bad": 1, "count": 1, "names": "x"}, "1 of 1 finding needs attention: x."),
    ("es", "diagnose.summary.bad", {"bad": 3, "count": 3, "names": "x"}, "3 de 3 hallazgos requieren atención: x."),
    ("en", "steps.health.failed", {"bad": 1, "count": 1, "names": "x"}, "1 of 1 check fails: x"),
    ("es", "steps.health.failed", {"bad": 1, "count": 1, "names": "x"}, "1 de 1 chequeo falla: x"),
    ("en", "steps.health.retrying", {"bad": 1, "count": 1, "attempt": 2}, "1 of 1 check not passing yet (try 2)"),
    ("es", "steps.health.retrying", {"bad": 3, "count": 3, "attempt": 2}, "3 de 3 chequeos aún no pasan (intento 2)"),
    ("en", "cache.flush.progress", {"deleted": "1"}, "deleted 1 key so far"),
    ("es", "cache.flush.progress", {"deleted": "1"}, "1 clave borrada hasta ahora"),
    ("es", "cache.flush.progress", {"deleted": "3.000"}, "3.000 claves borradas hasta ahora"),
    ("en", "tenant.already.keys", {"keys": 1, "command": "c"}, "It still has 1 cache key; to clear it: c"),
    ("en", "tenant.already.keys", {"keys": 3, "command": "c"}, "It still has 3 cache keys; to clear them: c"),
    ("es", "tenant.already.keys", {"keys": 1, "command": "c"}, "Aún tiene 1 clave de caché; para borrarla: c"),
    ("en", "db.slow.title", {"count": 1, "db": "pedidos"}, "Slowest query of pedidos"),
    ("en", "db.slow.title", {"count": 3, "db": "pedidos"}, "Slowest 3 queries of pedidos"),
    ("es", "db.slow.title", {"count": 1, "db": "pedidos"}, "La consulta más lenta de pedidos"),
    ("es", "db.slow.title", {"count": 3, "db": "pedidos"}, "Las 3 consultas más lentas de pedidos"),
    ("en", "queue.jobs_shown", {"shown": 1, "total": 1}, "Showing the newest 1 of 1 failed job."),
    ("es", "queue.jobs_shown", {"shown": 1, "total": 3}, "Se muestra el más reciente de 3 jobs fallidos."),
    ("es", "queue.jobs_shown", {"shown": 3, "total": 3}, "Se muestran los 3 más recientes de 3 jobs fallidos."),
    ("en", "queue.reasons_newest", {"read": 3, "total": 3}, "Failure reasons (newest 3 of 3 failed jobs):"),
    ("es", "queue.reasons_newest", {"read": 1, "total": 1}, "Motivos de fallo (el más reciente de 1 job fallido):"),
    (
        "es",
        "verify.queue.tracked_part",
        {"tracked": 1, "total": 1},
        "Seguidos por id: el más reciente del 1 job fallido.",
    ),
    (
        "en",
        "verify.queue.tracked_part",
        {"tracked": 3, "total": 3},
        "Followed by id: the newest 3 of the 3 failed jobs.",
    ),
    ("en", "arg.too_long", {"limit": 1}, "is too long (at most 1 character)"),
    ("es", "arg.too_long", {"limit": 3}, "es demasiado largo (máximo 3 caracteres)"),
    ("es", "arg.too_short", {"limit": 1}, "es demasiado corto (mínimo 1 carácter)"),
    ("en", "arg.too_short", {"limit": 3}, "is too short (at least 3 characters)"),
    (
        "es",
        "lanes.full",
        {"limit": 1},
        "El bot ya ejecuta 1 operación larga (logs en vivo, migraciones, backups…), su límite. "
        "Vuelve a intentarlo cuando termine una.",
    ),
    (
        "en",
        "lanes.full",
        {"limit": 1},
        "The bot is already running 1 long-running operation (live tails, migrations, backups…), its limit. "
        "Try again when one ends.",
    ),
    (
        "en",
        "diagnose.latency",
        {"route": "/", "p50": "1 ms", "p95": "2 ms", "p99": "3 ms", "routes": 1, "basis": "b"},
        "slowest route /: p50 1 ms, p95 2 ms, p99 3 ms (1 route, b)",
    ),
    (
        "es",
        "diagnose.latency",
        {"route": "/", "p50": "1 ms", "p95": "2 ms", "p99": "3 ms", "routes": 3, "basis": "b"},
        "ruta más lenta /: p50 1 ms, p95 2 ms, p99 3 ms (3 rutas, b)",
    ),
    (
        "en",
        "steps.label.prune.on_demand",
        {"keep": 1},
        "Keep the newest on-demand backup (scheduled ones are not touched)",
    ),
    (
        "es",
        "steps.label.prune.scheduled",
        {"keep": 1},
        "Conservar el backup programado más reciente (los hechos a pedido no se tocan)",
    ),
    (
        "es",
        "steps.label.prune.on_demand",
        {"keep": 3},
        "Conservar los 3 backups a pedido más recientes (los programados no se tocan)",
    ),
    (
        "en",
        "steps.label.prune.scheduled",
        {"keep": 3},
        "Keep the newest 3 scheduled backups (on-demand ones are not touched)",
    ),
    (
        "es",
        "db.backup.pruned_one.on_demand",
        {"keep": 1, "name": "b1"},
        "se borró el backup a pedido más antiguo, b1 (se conserva el backup a pedido más reciente)",
    ),
    (
        "en",
        "db.backup.pruned_one.on_demand",
        {"keep": 3, "name": "b1"},
        "removed the oldest on-demand backup b1 (the newest 3 on-demand backups are kept)",
    ),
    (
        "en",
        "db.backup.pruned_none.scheduled",
        {"keep": 1},
        "no backup removed (at most 1 scheduled backup is kept)",
    ),
    (
        "es",
        "db.backup.pruned_none.scheduled",
        {"keep": 3},
        "no se borró ningún backup (se conservan hasta 3 backups programados)",
    ),
    ("es", "verify.queue.completed_detail", {"done": 1, "total": 1}, "1 de 1 completado"),
    ("en", "verify.queue.completed_detail", {"done": 3, "total": 3}, "3 of 3 completed"),
    (
        "en",
        "cache.flush_db.refilled",
        {"where": "db 0", "keys": 3, "left": 1},
        "FLUSHDB of db 0 done: 3 keys were there just before; 1 is there again (written since the flush).",
    ),
    (
        "es",
        "cache.flush_db.refilled",
        {"where": "db 0", "keys": 3, "left": 1},
        "FLUSHDB de db 0 hecho: había 3 claves justo antes; ya hay 1 de nuevo (escrita tras el borrado).",
    ),
    (
        "es",
        "cache.flush_db.refilled",
        {"where": "db 0", "keys": 1, "left": 3},
        "FLUSHDB de db 0 hecho: había 1 clave justo antes; ya hay 3 de nuevo (escritas tras el borrado).",
    ),
    (
        "en",
        "cache.flush_db.refilled",
        {"where": "db 0", "keys": 1, "left": 3},
        "FLUSHDB of db 0 done: 1 key was there just before; 3 are there again (written since the flush).",
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


# ---- logs --grep through a real container -------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "tail", "said"),
    [
        ("en", 1, "; only the last one is shown."),
        ("en", 3, "; the last 3 are shown."),
        ("es", 1, "; solo se muestra la última."),
        ("es", 3, "; se muestran las últimas 3."),
    ],
)
async def test_the_grep_summary_says_how_many_are_shown_in_words(
    make_runtime: RuntimeFactory, compose_project: str, locale: str, tail: int, said: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project, locale=locale))
    result = await runtime.dispatcher.dispatch(
        Invocation(f"logs api --grep BOOT --tail {tail}", "U0VIEW", "C1", "slack")
    )
    summary = next(b.text for b in result.blocks if isinstance(b, Text))
    assert said in summary, summary
    # The session's api container prints 300 BOOT lines at each start, and other tests restart
    # it: count them in its log as the engine has it, and expect that count in the locale's form.
    logs = await asyncio.to_thread(
        subprocess.run,
        ["docker", "logs", f"{compose_project}-api-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    boots = sum("boot" in line.lower() for line in (logs.stdout + logs.stderr).splitlines())  # --grep ignores case
    assert boots >= 300
    grouped = format_decimal(boots, locale=locale)
    assert (f" {grouped} de " if locale == "es" else f" {grouped} of ") in summary, summary
    assert len([line for b in result.blocks if isinstance(b, Code) for line in b.text.splitlines()]) == tail


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


# ---- a guard over the whole catalog ------------------------------------------------------------

# a plural noun or verb right after a 1 reads wrong ("1 lines", "1 claves", "1 are shown")
PLURAL_AFTER_ONE = re.compile(
    r"\b1 (lines|líneas|keys|claves|checks|chequeos|findings|hallazgos|routes|rutas|families|familias|"
    r"problems|problemas|jobs|queries|consultas|backups|characters|caracteres|requests|peticiones|"
    r"operations|operaciones|are|were|mention|mencionan|fallidos|completados)\b"
)
# entries whose count is never 1 by construction (the `_many` variants are picked for 2 or more),
# and one whose field before "jobs" is a queue's name, not a number ("Retry failed payments jobs")
NEVER_ONE = {"db.backup.pruned_many.on_demand", "db.backup.pruned_many.scheduled", "diagnose.remedy.retry"}


def every_field(template: str | dict[str, str]) -> set[str]:
    """The entry's field names, also those nested inside an inline plural's variants."""
    out: set[str] = set()
    for text in template.values() if isinstance(template, dict) else [template]:
        for _, name, spec, _ in string.Formatter().parse(text):
            out |= {name} if name else set()
            out |= {inner for _, inner, _, _ in string.Formatter().parse(spec or "") if inner}
    return out


@pytest.mark.parametrize("locale", ["en", "es"])
def test_no_entry_says_a_plural_after_one(locale: str) -> None:
    t = Catalog(locale)
    wrong = []
    for key, entry in CATALOG.items():
        template = entry.get(locale)
        if template is None or key in NEVER_ONE:
            continue
        text = t(key, **dict.fromkeys(every_field(template), 1))
        if PLURAL_AFTER_ONE.search(text):
            wrong.append(f"{key}: {text}")
    assert not wrong, "\n".join(wrong)
