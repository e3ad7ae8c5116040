"""`metrics` says which columns are totals since the API started and which are over the window;
`cache stats` says its hit rate is the Redis server's, not the API's cache_hit_rate. A real
prometheus_client exporter and a private Redis server whose hits and misses the test makes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from conftest import RuntimeFactory, base_config
from exporter import Exporter, start_exporter
from private_redis import PrivateRedis, start_private_redis
from targets import HttpTarget

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Fields, Result, Text


@pytest.fixture
async def exporter() -> AsyncIterator[tuple[Exporter, HttpTarget]]:
    found = Exporter()
    target = await start_exporter(found)
    yield found, target
    await target.close()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = start_private_redis()
    yield server
    server.stop()


async def bot(make_runtime: RuntimeFactory, url: str, window: str) -> Runtime:
    extra = f"    metrics_window: {window}\n"
    return await make_runtime(base_config(api_url=url).replace("    timeout: 2s\n", "    timeout: 2s\n" + extra, 1))


async def ask(runtime: Runtime, text: str) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))


def pairs(result: Result) -> dict[str, str]:
    return dict(next(b for b in result.blocks if isinstance(b, Fields)).pairs)


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


async def test_a_windowed_answer_says_which_columns_are_totals_and_which_are_rates(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    found, target = exporter
    found.per_scrape = [("GET", "/fast", "200", 0.07, 12)]
    result = await ask(await bot(make_runtime, target.url, "300ms"), "metrics")
    labels = pairs(result)
    rate_label = next(k for k in labels if k.startswith("Requests/s"))
    assert re.fullmatch(r"Requests/s \(last 0\.\d+s\)", rate_label), labels
    assert any(re.fullmatch(r"5xx share \(last 0\.\d+s\)", k) for k in labels), labels
    assert "Cache hit rate (API's cache_hit_rate)" in labels
    assert re.search(
        r"Columns: REQUESTS is the total since the API started; REQ/S, 5XX and P50–P99 are over the last 0\.\d+s\.",
        texts(result),
    ), texts(result)


async def test_a_single_scrape_says_everything_is_since_start(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    result = await ask(await bot(make_runtime, exporter[1].url, "0s"), "metrics latency")
    assert "Columns: REQUESTS, 5XX and P50–P99 are since the API started; REQ/S is empty." in texts(result)
    overview = await ask(await bot(make_runtime, exporter[1].url, "0s"), "metrics")
    assert pairs(overview)["5xx share (since API start)"] == f"{100 * 8 / 60:.1f}%"


async def test_metrics_cache_names_its_source(
    make_runtime: RuntimeFactory, exporter: tuple[Exporter, HttpTarget]
) -> None:
    result = await ask(await bot(make_runtime, exporter[1].url, "0s"), "metrics cache")
    assert "As the API reports it in its cache_hit_rate gauge" in texts(result)
    assert "`/ops cache stats`" in texts(result)


async def test_cache_stats_says_its_hit_rate_is_the_redis_servers(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis
) -> None:
    client = private_redis.client()
    try:
        client.config_resetstat()
        client.set("tenant:a:1", "x")
        for key in ("tenant:a:1", "tenant:a:1", "nope"):  # 2 hits, 1 miss
            client.get(key)
        runtime = await make_runtime(base_config(target_redis=private_redis.url, locale="es"))
        result = await ask(runtime, "cache stats")
    finally:
        client.close()
    assert pairs(result)["Tasa de aciertos (servidor Redis)"] == "66,7%"  # Spanish decimal comma
    note = texts(result)
    assert "La tasa de aciertos es la del servidor Redis: keyspace_hits / (hits + misses)" in note
    assert "No es el cache_hit_rate de la API (`/ops metrics cache`)" in note
    assert re.search(r"desde que arrancó hace \S", note), note
