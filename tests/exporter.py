"""A real Prometheus exporter for tests and benchmarks: prometheus_client metrics with known
observations, served by prometheus_client's own aiohttp exposition handler on loopback.

GET /orders       10 × 30 ms, 20 × 70 ms, 15 × 200 ms, 5 × 400 ms, all 200
POST /payments    2 × 300 ms answered 200, 8 × 5 s answered 500 (beyond the last finite bucket)

so p50/p95/p99 are known by hand (tests/test_metrics.py). `traffic()` adds requests at
every scrape, which gives a window between two scrapes something to measure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler
from targets import HttpTarget, start_http_target

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0)


class Exporter:
    def __init__(self, cache_hit_rate: float | None = 0.93) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Duration of HTTP requests in seconds",
            ["method", "route", "status_code"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status_code"], registry=self.registry
        )
        self.cache = Gauge("cache_hit_rate", "Cache hits over lookups", registry=self.registry)
        Counter("payments_processed_total", "Payments processed", registry=self.registry).inc(42)
        for seconds, count in ((0.03, 10), (0.07, 20), (0.2, 15), (0.4, 5)):
            self.observe("GET", "/orders", "200", seconds, count)
        self.observe("POST", "/payments", "200", 0.3, 2)
        self.observe("POST", "/payments", "500", 5.0, 8)
        if cache_hit_rate is not None:
            self.cache.set(cache_hit_rate)
        self.per_scrape: list[tuple[str, str, str, float, int]] = []

    def observe(self, method: str, route: str, status: str, seconds: float, count: int) -> None:
        for _ in range(count):
            self.latency.labels(method, route, status).observe(seconds)
            self.requests.labels(method, route, status).inc()

    def handler(self, delay: float = 0.0) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The exposition handler, after `delay` seconds and the traffic meant to arrive per scrape."""
        expose = make_aiohttp_handler(self.registry)

        async def metrics(request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            for method, route, status, seconds, count in self.per_scrape:
                self.observe(method, route, status, seconds, count)
            return await expose(request)

        return metrics


async def start_exporter(exporter: Exporter, delay: float = 0.0, path: str = "/metrics") -> HttpTarget:
    return await start_http_target({path: exporter.handler(delay)})
