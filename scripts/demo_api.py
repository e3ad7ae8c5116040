"""A stand-in for the orders API of the demo stack: health endpoints and real Prometheus metrics.

It answers like the runbook's API (`/health`, `/health/db`, `/health/redis`, `/metrics`) and
checks the demo's real Postgres and Redis for its db/redis health, so `/ops status` shows
true states. Not used by the tests (they start their own targets).
"""

from __future__ import annotations

import argparse
import asyncio
import random

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Request latency",
    ["method", "route", "status_code"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HIT_RATE = Gauge("cache_hit_rate", "Share of cache lookups that hit", registry=REGISTRY)
WEBHOOK_FAILURES = Counter(
    "payment_webhook_failures", "Payment webhooks the API could not process", registry=REGISTRY
)  # the demo's alert rule (PaymentsFailing) fires on its increase, as the api container logs declined cards


def build(dsn: str, redis_url: str) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def health_db(_: web.Request) -> web.Response:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
            await conn.close()
        except Exception as exc:
            return web.json_response({"status": "down", "error": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok"})

    async def health_redis(_: web.Request) -> web.Response:
        client = aioredis.from_url(redis_url, socket_timeout=2)
        try:
            await client.ping()
        except Exception as exc:
            return web.json_response({"status": "down", "error": type(exc).__name__}, status=503)
        finally:
            await client.aclose()
        return web.json_response({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        for _ in range(50):
            route = random.choice(["/orders", "/orders/:id", "/webhooks/payments"])
            LATENCY.labels("GET", route, "200").observe(random.expovariate(1 / 0.08))
        HIT_RATE.set(round(random.uniform(0.82, 0.95), 3))
        WEBHOOK_FAILURES.inc(random.choice((1, 1, 2)))
        return web.Response(body=generate_latest(REGISTRY), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/health/db", health_db)
    app.router.add_get("/health/redis", health_redis)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    web.run_app(build(args.dsn, args.redis), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
