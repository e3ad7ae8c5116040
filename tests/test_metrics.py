"""`/ops metrics` against a real prometheus_client exporter (tests/exporter.py) whose
observations are known, so every quantile below is computed by hand first."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator

import pytest
from conftest import RuntimeFactory, base_config
from exporter import Exporter, start_exporter
from targets import HttpTarget, delayed, start_http_target

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Code, Fields, Result, Table, Text
from bot.targets.prometheus import scrape
from handlers.metrics import Observation, latency_report


@pytest.fixture
async def exporter() -> AsyncIterator[tuple[Exporter, HttpTarget]]:
    found = Exporter()
    target = await start_exporter(found)
    yield found, target
    await target.close()


async def bot(make_runtime: RuntimeFactory, url: str, window: str = "0s") -> Runtime:
    extra = f"    metrics_window: {window}\n"
    return await make_runtime(base_config(api_url=url).replace("    timeout: 2s\n", "    timeout: 2s\n" + extra, 1))


async def ask(runtime: Runtime, text: str) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))


def table(result: Result) -> Table:
    return next(b for b in result.blocks if isinstance(b, Table))


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text | Code))


async def test_quantiles_per_route_match_the_hand_computed_values(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    runtime = await bot(make_runtime, exporter[1].url)
    found = await scrape(runtime.deps.http, exporter[1].url + "/metrics", 2, runtime.dispatcher.t)
    report = latency_report(Observation(found))
    assert report is not None
    routes = {r.route: r for r in report.routes}
    # GET /orders: ≤50ms 10, ≤100ms 30, ≤250ms 45, ≤500ms 50 (cumulative).
    p50, p95, p99 = routes["GET /orders"].quantiles
    assert p50 == pytest.approx(0.05 + 0.05 * 15 / 20)  # rank 25 in (50ms, 100ms]
    assert p95 == pytest.approx(0.25 + 0.25 * 2.5 / 5)  # rank 47.5 in (250ms, 500ms]
    assert p99 == pytest.approx(0.25 + 0.25 * 4.5 / 5)
    # POST /payments: 2 ≤ 500ms, 8 above 1s: every quantile from rank 5 up lies in +Inf → 1s.
    assert routes["POST /payments"].quantiles == (1.0, 1.0, 1.0)
    assert routes["POST /payments"].counts.error_share == pytest.approx(0.8)
    assert routes["GET /orders"].counts.error_share == 0


async def test_metrics_latency_shows_the_table_and_the_bucket_bars(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    runtime = await bot(make_runtime, exporter[1].url)
    result = await ask(runtime, "metrics latency")
    assert result.ok, result.summary
    assert "POST /payments" in result.summary and "1.00 s" in result.summary
    rows = {row[0]: row for row in table(result).rows}
    assert rows["GET /orders"][1:] == ["50", "—", "0.0%*", "88 ms*", "375 ms*", "475 ms*"]
    assert rows["POST /payments"][3:] == ["80.0%*", "1.00 s*", "1.00 s*", "1.00 s*"]
    chart = next(b.text for b in result.blocks if isinstance(b, Code)).splitlines()
    counts = [int(line.split()[-1]) for line in chart]
    assert counts == [10, 20, 15, 7, 0, 8], chart  # per bucket, not cumulative
    assert chart[-1].startswith("> 1.00 s")
    assert "a rate needs two scrapes" in texts(result).lower()


async def test_two_scrapes_give_a_rate_and_window_quantiles(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    found, target = exporter
    found.per_scrape = [("GET", "/fast", "200", 0.07, 12), ("GET", "/fast", "503", 0.07, 3)]
    runtime = await bot(make_runtime, target.url, window="300ms")
    result = await ask(runtime, "metrics latency")
    assert result.ok, result.summary
    fast = next(row for row in table(result).rows if row[0] == "GET /fast")
    rate = float(fast[2].removesuffix("/s"))
    assert 15 / 0.6 < rate < 15 / 0.25, fast  # 15 requests between two scrapes ~0.3 s apart
    assert fast[3] == "20.0%", "3 of the window's 15 answered 503"
    assert fast[4] == "75 ms", "all 15 fell in (50ms, 100ms]: p50 = 50 + 50 × 7.5/15"
    orders = next(row for row in table(result).rows if row[0] == "GET /orders")
    assert orders[2] == "0.0/s" and orders[5].endswith("*"), "no traffic in the window: since-start values"
    # the note gives the window as measured: 0.3 s asked for, more on a loaded machine (as the rate allows)
    assert re.search(r"two scrapes 0\.[3-6]s apart", texts(result)), texts(result)


async def test_overview_has_rate_errors_worst_route_and_cache(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    runtime = await bot(make_runtime, exporter[1].url)
    result = await ask(runtime, "metrics")
    pairs = dict(next(b for b in result.blocks if isinstance(b, Fields)).pairs)
    assert pairs["Cache hit rate (API's cache_hit_rate)"] == "93.0%"
    assert pairs["Worst p95 (since API start)"] == "1.00 s · POST /payments"
    assert pairs["5xx share (since API start)"] == f"{100 * 8 / 60:.1f}%"
    assert pairs["Requests/s"] == "—", "one scrape cannot give a rate"


async def test_cache_hit_rate(make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]) -> None:
    result = await ask(await bot(make_runtime, exporter[1].url), "metrics cache")
    assert result.ok and result.summary == "Cache hit rate 93.0%."


async def test_unknown_metric_lists_close_names(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    runtime = await bot(make_runtime, exporter[1].url)
    result = await ask(runtime, "metrics http_request_duration")
    assert not result.ok
    assert "There is no metric http_request_duration" in result.summary
    close = texts(result)
    assert "http_request_duration_seconds" in close and "Close names" in close
    typo = await ask(runtime, "metrics payments_procesed_total")
    assert "payments_processed_total" in texts(typo)


async def test_a_named_histogram_shows_quantiles_per_label_set(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    result = await ask(await bot(make_runtime, exporter[1].url), "metrics http_request_duration_seconds")
    assert result.ok
    rows = {row[0]: row for row in table(result).rows}
    orders = rows['method="GET", route="/orders", status_code="200"']
    assert orders[1:] == ["50", "88 ms", "375 ms", "475 ms"]
    counter = await ask(await bot(make_runtime, exporter[1].url), "metrics payments_processed_total")
    assert table(counter).rows == [["payments_processed_total", "", "42"]]


async def test_a_page_that_is_not_prometheus_text_is_a_clear_failure(make_runtime: RuntimeFactory) -> None:
    target = await start_http_target({"/metrics": delayed(0, body="<html><body>login</body></html>")})
    try:
        result = await ask(await bot(make_runtime, target.url), "metrics")
    finally:
        await target.close()
    assert not result.ok
    assert "is not Prometheus text format" in result.summary


async def test_no_requests_yet_gives_no_quantiles_instead_of_numbers(make_runtime: RuntimeFactory) -> None:
    empty = Exporter(cache_hit_rate=None)
    empty.latency.clear()
    empty.latency.labels("GET", "/idle", "200")  # a route with zero observations
    target = await start_exporter(empty)
    try:
        runtime = await bot(make_runtime, target.url)
        found = await scrape(runtime.deps.http, target.url + "/metrics", 2, runtime.dispatcher.t)
        report = latency_report(Observation(found))
        assert report is not None and all(math.isnan(q) for q in report.routes[0].quantiles)
        result = await ask(runtime, "metrics latency")
        assert result.summary == "No requests recorded yet."
        assert table(result).rows[0][4:] == ["—*", "—*", "—*"]
    finally:
        await target.close()
