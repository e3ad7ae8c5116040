"""Runbook "Ver métricas" / "Ver métricas de latencia" / "Ver hit rate de caché": the API's `/metrics`.

`curl /metrics | grep http_request_duration` shows cumulative bucket counters, which
nobody can read at 3 AM. `/ops metrics` parses them (bot/targets/prometheus.py) and shows
per route what a dashboard would: p50/p95/p99 computed exactly like Prometheus'
`histogram_quantile` over `sum by (le, method, route)` (bot/targets/promql.py), the request rate,
the share of 5xx answers, the cache hit rate, and the latency buckets as a bar chart.

What one scrape can tell: counters are totals since the API process started, so it
gives totals, a since-start error share and since-start quantiles, and never a rate. A
rate needs two scrapes: by default the bot takes two, `stack.api.metrics_window` (1 s)
apart, and reports requests per second and the window's error share and quantiles for
routes that saw at least MIN_WINDOW_OBSERVATIONS requests in it (an incident is about
now, and since-start quantiles of a long-running API hardly move). Quiet routes fall
back to since-start values, marked with `*`. The window costs one second per command,
which is why it is small and why `--window 0` gives the single-scrape answer at once.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, ValidationInfo

from bot.core.argtypes import DURATION_WORD, DurationArg, option, positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation
from bot.output.charts import Series, draw_line_chart
from bot.output.results import Attachment, Block, Code, Fields, Result, Table, Text
from bot.targets.prometheus import Family, Scrape, scrape
from bot.targets.prometheus_api import query_range
from bot.targets.promql import Bucket, bucket_quantile, increase, parse_le, per_bucket, sum_buckets
from bot.text.errors import BotError
from bot.text.locale import format_number
from bot.text.messages import Catalog

LATENCY = "http_request_duration_seconds"
REQUESTS = "http_requests_total"
CACHE = "cache_hit_rate"
CACHE_HITS = "cache_hits_total"
CACHE_MISSES = "cache_misses_total"
ROUTE_LABELS = ("route", "path", "handler", "endpoint", "url")
STATUS_LABELS = ("status_code", "status", "code")
QUANTILES = (0.5, 0.95, 0.99)
MIN_WINDOW_OBSERVATIONS = 10
MAX_WINDOW = timedelta(seconds=10)
DEFAULT_TIMEOUT = 5.0
BAR_WIDTH = 24
BAR_EIGHTHS = " ▏▎▍▌▋▊▉"
MAX_ROWS = 40
ALL_ROUTES = "*"
K = TypeVar("K")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def _metric_name(value: str, info: ValidationInfo) -> str:
    if not _METRIC_NAME.fullmatch(value):
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("metrics.bad_name"))
    return value


def _window(value: timedelta | None, info: ValidationInfo) -> timedelta | None:
    if value is not None and value > MAX_WINDOW:
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("metrics.window_too_long", limit="10s"))
    return value


MetricName = Annotated[str, Field(max_length=200), AfterValidator(_metric_name)]


def _chart_window(value: timedelta | None, info: ValidationInfo) -> timedelta | None:
    if value is not None and not MIN_CHART <= value <= MAX_CHART:
        t = (info.context or {}).get("t") or Catalog()
        raise ValueError(t("metrics.chart.window", low="1m", high="7d"))
    return value


MIN_CHART = timedelta(minutes=1)
MAX_CHART = timedelta(days=7)


class MetricsArgs(OpArgs):
    what: MetricName | None = positional(None, metavar="latency|cache|NAME")
    window: Annotated[DurationArg | None, AfterValidator(_window)] = option(None, metavar="1s")
    chart: Annotated[DurationArg | None, AfterValidator(_chart_window)] = option(
        None, metavar="1h", bare="1h", value_pattern=DURATION_WORD
    )


# ---- fetching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """The latest scrape, and the one `window` seconds earlier when two were taken."""

    now: Scrape
    before: Scrape | None = None

    @property
    def seconds(self) -> float | None:
        return self.now.at - self.before.at if self.before is not None else None


def api_timeout(ctx: OpContext) -> float:
    api = ctx.config.stack.api
    return api.timeout.total_seconds() if api else DEFAULT_TIMEOUT


def default_window(ctx: OpContext) -> float:
    api = ctx.config.stack.api
    return api.metrics_window.total_seconds() if api else 1.0


def metrics_url(ctx: OpContext) -> str:
    api = ctx.config.stack.api
    if api is None:
        raise BotError("error.not_configured", key="stack.api")
    return api.base_url.rstrip("/") + "/" + api.metrics.lstrip("/")


async def observe(ctx: OpContext, window: float) -> Observation:
    """One scrape, or two `window` seconds apart (each bounded by the API timeout)."""
    url = metrics_url(ctx)
    first = await scrape(ctx.deps.http, url, api_timeout(ctx), ctx.t)
    if window <= 0:
        return Observation(first)
    await asyncio.sleep(max(0.0, window - (time.monotonic() - first.at)))
    second = await scrape(ctx.deps.http, url, api_timeout(ctx), ctx.t)
    return Observation(second, first)


# ---- latency, rate and errors per route ---------------------------------------------------------


SeriesKey = tuple[str, str | None, float]  # route, status, le


def _label(labels: dict[str, str], names: Iterable[str]) -> str | None:
    return next((labels[n] for n in names if n in labels), None)


def route_of(labels: dict[str, str]) -> str:
    route = _label(labels, ROUTE_LABELS) or ALL_ROUTES
    method = labels.get("method")
    return f"{method.upper()} {route}" if method else route


def _bucket_series(found: Scrape) -> dict[SeriesKey, float]:
    """(route, status, le) → cumulative count, summed over every other label."""
    series: dict[SeriesKey, float] = {}
    for sample in found.samples(LATENCY):
        if not sample.name.endswith("_bucket"):
            continue
        upper = parse_le(sample.labels.get("le", ""))
        if upper is None:
            continue
        key = (route_of(sample.labels), _label(sample.labels, STATUS_LABELS), upper)
        series[key] = series.get(key, 0.0) + sample.value
    return series


def _request_series(found: Scrape) -> dict[tuple[str, str | None], float]:
    """(route, status) → requests, from `http_requests_total` (when the histogram has no status)."""
    series: dict[tuple[str, str | None], float] = {}
    for sample in found.samples(REQUESTS):
        if sample.name != REQUESTS:
            continue
        key = (route_of(sample.labels), _label(sample.labels, STATUS_LABELS))
        series[key] = series.get(key, 0.0) + sample.value
    return series


def _window_of(now: dict[K, float], before: dict[K, float] | None) -> dict[K, float]:
    """Each series' increase between the two scrapes (a drop is a counter reset)."""
    if before is None:
        return now
    return {key: increase(before.get(key), value) for key, value in now.items()}


def _is_error(status: str | None) -> bool:
    return bool(status) and str(status).startswith("5")


@dataclass(frozen=True)
class Counts:
    """Buckets, requests and 5xx answers of one route over one basis (window or since start)."""

    buckets: list[Bucket]
    requests: float
    errors: float | None

    def quantiles(self) -> tuple[float, ...]:
        return tuple(bucket_quantile(q, self.buckets) for q in QUANTILES)

    @property
    def error_share(self) -> float | None:
        if self.errors is None or self.requests <= 0:
            return None
        return self.errors / self.requests


def _counts(buckets: dict[SeriesKey, float], requests: dict[tuple[str, str | None], float]) -> dict[str, Counts]:
    grouped = sum_buckets((route, le, count) for (route, _, le), count in buckets.items())
    status_known = any(status is not None for (_, status, _) in buckets)
    request_status = any(status is not None for (_, status) in requests)
    out: dict[str, Counts] = {}
    for route, route_buckets in grouped.items():
        total = sum(c for (r, _, le), c in buckets.items() if r == route and math.isinf(le))
        errors: float | None = None
        if status_known:
            errors = sum(c for (r, s, le), c in buckets.items() if r == route and math.isinf(le) and _is_error(s))
        elif request_status:
            errors = sum(c for (r, s), c in requests.items() if r == route and _is_error(s))
            total_requests = sum(c for (r, _), c in requests.items() if r == route)
            errors = errors if total_requests else None
            if total_requests:
                total = total_requests
        out[route] = Counts(route_buckets, total, errors)
    return out


@dataclass(frozen=True)
class RouteLatency:
    route: str
    total: float  # requests since the API started
    rate: float | None  # requests per second over the window; None with one scrape
    counts: Counts  # what the quantiles and error share are computed from
    windowed: bool  # counts are the window's (else since start)

    @property
    def quantiles(self) -> tuple[float, ...]:
        return self.counts.quantiles()


@dataclass(frozen=True)
class LatencyReport:
    routes: list[RouteLatency]
    overall: Counts
    overall_windowed: bool
    window: float | None

    @property
    def worst(self) -> RouteLatency | None:
        """The route with the highest p95 (NaN quantiles never win)."""
        scored = [r for r in self.routes if not math.isnan(r.quantiles[1])]
        return max(scored, key=lambda r: r.quantiles[1], default=None)

    @property
    def rate(self) -> float | None:
        rates = [r.rate for r in self.routes if r.rate is not None]
        return sum(rates) if rates and self.window else None


def latency_report(observation: Observation) -> LatencyReport | None:
    """Per-route latency, rate and errors; None when the API exports no latency histogram."""
    now = observation.now
    if now.family(LATENCY) is None:
        return None
    since_start = _counts(_bucket_series(now), _request_series(now))
    seconds = observation.seconds
    window: dict[str, Counts] = {}
    if observation.before is not None:
        buckets = _window_of(_bucket_series(now), _bucket_series(observation.before))
        requests = _window_of(_request_series(now), _request_series(observation.before))
        window = _counts(buckets, requests)
    routes: list[RouteLatency] = []
    for route in sorted(since_start):
        recent = window.get(route)
        use_window = recent is not None and recent.requests >= MIN_WINDOW_OBSERVATIONS
        rate = recent.requests / seconds if recent is not None and seconds else None
        chosen = recent if use_window and recent is not None else since_start[route]
        routes.append(RouteLatency(route, since_start[route].requests, rate, chosen, use_window))
    overall_window = _merge(window.values()) if window else None
    use_window = overall_window is not None and overall_window.requests >= MIN_WINDOW_OBSERVATIONS
    overall = overall_window if use_window and overall_window is not None else _merge(since_start.values())
    return LatencyReport(routes, overall, use_window, seconds)


def _merge(many: Iterable[Counts]) -> Counts:
    buckets: dict[float, float] = {}
    requests = 0.0
    errors: float | None = 0.0
    for counts in many:
        for bucket in counts.buckets:
            buckets[bucket.upper] = buckets.get(bucket.upper, 0.0) + bucket.count
        requests += counts.requests
        errors = None if errors is None or counts.errors is None else errors + counts.errors
    return Counts([Bucket(u, c) for u, c in sorted(buckets.items())], requests, errors)


# ---- cache hit rate -------------------------------------------------------------------------------


def cache_rates(found: Scrape) -> list[tuple[str, float]]:
    """(label set, hit rate 0..1) from `cache_hit_rate`, else from hit/miss counters."""
    out: list[tuple[str, float]] = []
    for sample in found.samples(CACHE):
        if sample.name != CACHE or math.isnan(sample.value):
            continue
        value = sample.value / 100 if 1 < sample.value <= 100 else sample.value  # some export a percentage
        out.append((_labels_text(sample.labels) or CACHE, value))
    if out:
        return out
    hits = sum(s.value for s in found.samples(CACHE_HITS) if s.name == CACHE_HITS)
    misses = sum(s.value for s in found.samples(CACHE_MISSES) if s.name == CACHE_MISSES)
    if hits + misses > 0:
        return [(f"{CACHE_HITS} / ({CACHE_HITS} + {CACHE_MISSES})", hits / (hits + misses))]
    return []


# ---- formatting ---------------------------------------------------------------------------------


def _not_finite(value: float) -> str | None:
    """How NaN and ±Inf are shown (Prometheus exports both); None for an ordinary number.
    Babel would write `NaN,0` and `∞`, which nobody reading a metric expects."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def fmt_seconds(value: float, locale: str = "en") -> str:
    """`1.5 ms` / `1,5 ms`: milliseconds under a second, else seconds, in the reader's digits."""
    if (odd := _not_finite(value)) is not None:
        return odd
    if abs(value) < 0.01:
        return f"{format_number(value * 1000, locale, 1)} ms"
    if abs(value) < 1:
        return f"{format_number(round(value * 1000), locale)} ms"
    return f"{format_number(value, locale, 2)} s"


def fmt_count(value: float, locale: str = "en") -> str:
    """`20,000` / `20.000` (Babel): a Spanish reader takes `20,000` for twenty."""
    if (odd := _not_finite(value)) is not None:
        return odd
    return format_number(value, locale, 0 if float(value).is_integer() else 1)


def fmt_share(value: float | None, locale: str = "en") -> str:
    if value is None:
        return "—"
    if (odd := _not_finite(value)) is not None:
        return odd
    return f"{format_number(value * 100, locale, 1)}%"


def fmt_rate(value: float | None, locale: str = "en") -> str:
    if value is None:
        return "—"
    if (odd := _not_finite(value)) is not None:
        return odd
    return f"{format_number(value, locale, 1)}/s"


def bar(value: float, maximum: float, width: int = BAR_WIDTH) -> str:
    """A bar in eighths of a cell; any non-zero value shows at least a sliver."""
    if value <= 0 or maximum <= 0 or math.isnan(value):
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (BAR_EIGHTHS[part] if part else "")


def bar_chart(buckets: list[Bucket], seconds: bool = True, width: int = BAR_WIDTH, locale: str = "en") -> str:
    """One line per bucket: its bound, its own count (not cumulative) as a bar, the count."""
    alone = per_bucket(buckets)
    if not alone:
        return ""
    finite = [b.upper for b in alone if not math.isinf(b.upper)]
    labels = []
    for bucket in alone:
        if math.isinf(bucket.upper):
            labels.append(f"> {_bound(finite[-1], seconds, locale)}" if finite else "+Inf")
        else:
            labels.append(f"≤ {_bound(bucket.upper, seconds, locale)}")
    top = max(b.count for b in alone)
    label_width = max(len(label) for label in labels)
    counts = [fmt_count(b.count, locale) for b in alone]
    count_width = max(len(count) for count in counts)
    lines = [
        f"{label.ljust(label_width)} {bar(b.count, top, width).ljust(width)} {count.rjust(count_width)}"
        for label, b, count in zip(labels, alone, counts, strict=True)
    ]
    return "\n".join(lines)


def _bound(value: float, seconds: bool, locale: str) -> str:
    """A bucket bound or quantile: a duration for `_seconds` histograms, else the bare number."""
    if seconds:
        return fmt_seconds(value, locale)
    if math.isnan(value) or math.isinf(value):
        return f"{value:g}"
    return format_number(value, locale)


def _labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def latency_table(t: Catalog, report: LatencyReport) -> Table:
    rows = []
    for route in report.routes:
        mark = "" if route.windowed else "*"
        rows.append(
            [
                route.route,
                fmt_count(route.total, t.locale),
                fmt_rate(route.rate, t.locale),
                fmt_share(route.counts.error_share, t.locale) + (mark if route.counts.error_share is not None else ""),
                *(fmt_seconds(q, t.locale) + mark for q in route.quantiles),
            ]
        )
    return Table(t("metrics.latency_columns").split("|"), rows)


def window_note(t: Catalog, report: LatencyReport) -> str:
    """Which columns are totals since the API started and which are over the window: a REQUESTS
    column of 120,000 next to a REQ/S of 3.2 must not read as one time span."""
    if report.window is None:
        return t("metrics.legend.single") + " " + t("metrics.note_single")
    note = (
        t("metrics.legend.window", seconds=t.number(report.window, 1))
        + " "
        + t("metrics.note_window", seconds=t.number(report.window, 1))
    )
    if any(not r.windowed for r in report.routes):
        note += " " + t("metrics.note_since_start", min=MIN_WINDOW_OBSERVATIONS, seconds=t.number(report.window, 1))
    return note


def latency_blocks(t: Catalog, report: LatencyReport) -> list[Block]:
    chart = bar_chart(report.overall.buckets, locale=t.locale)
    basis = (
        t("metrics.bars_window", seconds=t.number(report.window or 0, 1))
        if report.overall_windowed
        else t("metrics.bars_since_start")
    )
    blocks: list[Block] = [latency_table(t, report)]
    if chart:
        blocks += [Text(basis), Code(chart)]
    blocks.append(Text(window_note(t, report)))
    return blocks


def close_names(found: Scrape, wanted: str, limit: int = 5) -> list[str]:
    names = found.names()
    close = difflib.get_close_matches(wanted, names, n=limit, cutoff=0.6)
    if len(close) < limit:
        parts = [p for p in wanted.lower().split("_") if len(p) > 2]
        close += [n for n in names if n not in close and any(p in n.lower() for p in parts)][: limit - len(close)]
    return close


def missing_metric(ctx: OpContext, found: Scrape, wanted: str) -> Result:
    close = close_names(found, wanted)
    message = ctx.t("metrics.unknown", name=wanted, count=len(found.families))
    blocks: list[Block] = [Text(message)]
    if close:
        blocks.append(Text(ctx.t("metrics.close", names=", ".join(close))))
    return Result(title=ctx.t("metrics.title"), blocks=blocks, ok=False, summary=message)


# ---- the command ----------------------------------------------------------------------------------


@operation("metrics", MetricsArgs)
async def metrics(ctx: OpContext, args: MetricsArgs) -> Result:
    """The API's metrics: latency p50/p95/p99 per route, request rate, 5xx share, cache hit rate."""
    what = (args.what or "").strip()
    if args.chart is not None:
        return await chart(ctx, what or "latency", args.chart)
    window = args.window.total_seconds() if args.window is not None else default_window(ctx)
    if what and what not in ("latency", "cache"):
        return _one_family(ctx, (await observe(ctx, 0)).now, what)
    observation = await observe(ctx, window if what != "cache" else 0)
    if what == "cache":
        return _cache(ctx, observation.now)
    report = latency_report(observation)
    if what == "latency":
        if report is None:
            return missing_metric(ctx, observation.now, LATENCY)
        return _latency(ctx, report)
    return _overview(ctx, observation, report)


def _latency(ctx: OpContext, report: LatencyReport) -> Result:
    t = ctx.t
    worst = report.worst
    summary = (
        t(
            "metrics.latency_summary",
            route=worst.route,
            p95=fmt_seconds(worst.quantiles[1], t.locale),
            routes=len(report.routes),
        )
        if worst
        else t("metrics.no_requests")
    )
    return Result(title=t("metrics.latency_title"), blocks=[Text(summary), *latency_blocks(t, report)], summary=summary)


def _cache(ctx: OpContext, found: Scrape) -> Result:
    rates = cache_rates(found)
    if not rates:
        return missing_metric(ctx, found, CACHE)
    pairs = [(label, fmt_share(rate, ctx.t.locale)) for label, rate in rates]
    summary = ctx.t("metrics.cache_summary", rate=fmt_share(rates[0][1], ctx.t.locale))
    note = Text(ctx.t("metrics.cache_source", name=CACHE))
    return Result(title=ctx.t("metrics.cache_title"), blocks=[Fields(pairs), note], summary=summary)


def _overview(ctx: OpContext, observation: Observation, report: LatencyReport | None) -> Result:
    t = ctx.t
    rates = cache_rates(observation.now)
    pairs = [(t("metrics.field.cache_api", name=CACHE), fmt_share(rates[0][1], t.locale) if rates else "—")]
    blocks: list[Block] = []
    summary = t("metrics.overview_summary", families=len(observation.now.families))
    if report is not None:
        worst = report.worst
        pairs = [
            (
                _over(t, "metrics.field.rate", report, True) if report.window else t("metrics.field.rate"),
                fmt_rate(report.rate, t.locale),
            ),
            (
                _over(t, "metrics.field.errors", report, report.overall_windowed),
                fmt_share(report.overall.error_share, t.locale),
            ),
            (
                _over(t, "metrics.field.worst", report, bool(worst and worst.windowed)),
                f"{fmt_seconds(worst.quantiles[1], t.locale)} · {worst.route}" if worst else "—",
            ),
            *pairs,
        ]
        blocks = latency_blocks(t, report)
    else:
        blocks = [Text(t("metrics.no_latency", name=LATENCY))]
    return Result(title=t("metrics.title"), blocks=[Fields(pairs), *blocks], summary=summary)


def _over(t: Catalog, key: str, report: LatencyReport, windowed: bool) -> str:
    """A field's label with the span its value covers: the window, or since the API started."""
    if windowed and report.window:
        return t("metrics.basis.window", label=t(key), seconds=t.number(report.window, 1))
    return t("metrics.basis.since_start", label=t(key))


def _one_family(ctx: OpContext, found: Scrape, name: str) -> Result:
    family = found.family(name)
    if family is None:
        return missing_metric(ctx, found, name)
    t = ctx.t
    title = t("metrics.family_title", name=family.name, type=family.type)
    blocks: list[Block] = [Text(family.help)] if family.help else []
    if family.type == "histogram":
        blocks += _histogram_blocks(t, family)
    else:
        rows = [[s.name, _labels_text(s.labels), fmt_count(s.value, t.locale)] for s in family.samples]
        blocks.append(Table(t("metrics.sample_columns").split("|"), rows[:MAX_ROWS]))
        if len(rows) > MAX_ROWS:
            blocks.append(Text(t("metrics.more_rows", count=len(rows) - MAX_ROWS)))
    summary = t("metrics.family_summary", name=family.name, count=len(family.samples))
    return Result(title=title, blocks=blocks, summary=summary)


def _histogram_blocks(t: Catalog, family: Family) -> list[Block]:
    """Quantiles per label set (every label but `le`), and the bars of all of them summed."""
    triples = []
    for sample in family.samples:
        upper = parse_le(sample.labels.get("le", "")) if sample.name.endswith("_bucket") else None
        if upper is not None:
            key = _labels_text({k: v for k, v in sample.labels.items() if k != "le"})
            triples.append((key, upper, sample.value))
    grouped = sum_buckets(triples)
    seconds = family.name.endswith("_seconds")
    rows = [
        [
            key or "—",
            fmt_count(max((b.count for b in buckets), default=0), t.locale),
            *(_bound(bucket_quantile(q, buckets), seconds, t.locale) for q in QUANTILES),
        ]
        for key, buckets in sorted(grouped.items())
    ]
    blocks: list[Block] = [Table(t("metrics.histogram_columns").split("|"), rows[:MAX_ROWS])]
    everything = sum_buckets(("", upper, count) for _, upper, count in triples).get("", [])
    chart = bar_chart(everything, seconds=seconds, locale=t.locale)
    if chart:
        blocks += [Text(t("metrics.bars_since_start")), Code(chart)]
    return blocks


# ---- charts (stack.prometheus) ---------------------------------------------------------------


def chart_queries(what: str) -> tuple[list[tuple[str, str]], str, float]:
    """(label, PromQL) per line, the unit, and the scale from Prometheus' values to that unit."""
    if what == "latency":
        rate = f"sum by (le) (rate({LATENCY}_bucket[1m]))"
        return [(f"p{int(q * 100)}", f"histogram_quantile({q}, {rate})") for q in QUANTILES], "ms", 1000.0
    if what == "cache":
        return [("hit rate", CACHE)], "%", 100.0
    if what.endswith("_total"):
        return [(f"rate({what})", f"sum(rate({what}[1m]))")], "per second", 1.0
    return [(what, what)], "", 1.0


async def chart(ctx: OpContext, what: str, window: timedelta) -> Result:
    """A PNG of the metric over `window` from Prometheus' query_range, uploaded with the answer."""
    t = ctx.t
    configured = ctx.config.stack.prometheus
    if configured is None:
        raise BotError("metrics.chart.no_prometheus")
    queries, unit, scale = chart_queries(what)
    timeout = configured.timeout.total_seconds()
    answers = await asyncio.gather(
        *(query_range(ctx.deps.http, configured.url, expr, window, timeout) for _, expr in queries)
    )
    series: list[Series] = []
    for (label, _), found in zip(queries, answers, strict=True):
        for labels, line in found[:8]:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
            series.append(Series(f"{label} {extra}".strip() if len(found) > 1 else label, line))
    points = sum(len(one.points) for one in series)
    if points == 0:
        return Result(title=t("metrics.chart.title", what=what), blocks=[Text(t("metrics.chart.empty", what=what))])
    window_text = f"{int(window.total_seconds() // 60)} min"
    title = t("metrics.chart.title", what=what) + f" — {window_text}"
    png = await draw_line_chart(series, title=title, unit=unit, tz_name=ctx.config.timezone, scale=scale)
    summary = t("metrics.chart.summary", what=what, window=window_text, series=len(series), points=points)
    return Result(
        title=title,
        blocks=[Text(summary), Attachment(f"{what}-{window_text.replace(' ', '')}.png", png, title=title)],
        summary=summary,
    )
