"""`/ops diagnose <section>` on real parts: busybox containers whose api logs webhook lines, the
real Bull Board with failed jobs, a real Prometheus exporter, Postgres (with
pg_stat_statements where a private server can load it), the local Redis, and an incident
thread in the Slack emulator."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from confirm_flow import buttons, click
from conftest import REDIS_URL, RuntimeFactory, base_config
from exporter import Exporter, start_exporter
from private_postgres import PrivatePostgres, start_private_postgres
from slack_emulator import SlackEmulator
from targets import HttpTarget, delayed, hangs, start_http_target
from test_queues import Board
from test_queues import board as bull_board  # noqa: F401  the real Bull Board, as test_queues starts it

import handlers.diagnose
from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.incidents.notify import SlackNotifier, slack_client_for_notices
from bot.output.results import Check, Checks, Result, Table, Text

VIEWER, OPERATOR = "U0VIEW", "U0OPER"


def config(
    project: str,
    *,
    api_url: str = "http://127.0.0.1:9",
    board_url: str | None = None,
    timeout: str = "2s",
    health: dict[str, str] | None = None,
    target_db: str | None = None,
    target_redis: str | None = None,
    extra: str = "",
) -> str:
    text = base_config(
        project=project,
        api_url=api_url,
        timeout=timeout,
        health=health,
        target_db=target_db,
        target_redis=target_redis,
        extra=extra,
    )
    text = text.replace(f"    timeout: {timeout}\n", f"    timeout: {timeout}\n    metrics_window: 0s\n", 1)
    if board_url:
        text = text.replace(
            "stack:\n", f"stack:\n  bull_board:\n    base_url: {board_url}\n    queues: [payments]\n", 1
        )
    return text


async def ask(runtime: Runtime, text: str, user: str = VIEWER) -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


def findings(result: Result) -> dict[str, Check]:
    checks = next(b for b in result.blocks if isinstance(b, Checks)).checks
    return {c.name: c for c in checks}


def commands(result: Result) -> list[str]:
    return [b.command for b in buttons(result)]


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


@pytest.fixture
async def health_api() -> AsyncIterator[HttpTarget]:
    target = await start_http_target({"/health": delayed(0), "/health/db": delayed(0), "/health/redis": delayed(0)})
    yield target
    await target.close()


# ---- payments --------------------------------------------------------------------------------------


async def test_payments_reports_webhook_lines_and_failed_jobs_and_its_retry_button_asks_for_confirmation(
    make_runtime: RuntimeFactory,
    compose_project: str,
    bull_board: Board,  # noqa: F811
    redis_prefix: str,
) -> None:
    await bull_board.add_jobs(count=3, reason="card declined")
    await bull_board.add_jobs(count=1, reason="gateway timeout")
    await bull_board.wait_for(lambda counts: counts["failed"] == 4)
    runtime = await make_runtime(
        config(compose_project, board_url=bull_board.url), redis_prefix=f"{redis_prefix}diag-pay:"
    )

    result = await ask(runtime, "diagnose payments", OPERATOR)  # a viewer is offered no retry button

    found = findings(result)
    webhooks = found["webhooks in api logs (last 15 min)"]
    assert webhooks.state == "ok", webhooks
    # one line or many (the plural follows the count), the newest said as a relative time
    assert re.match(r"[\d,]+ webhook lines? in the last 15m, (the last )?[\d]+ \w+\. ago; ", webhooks.detail), webhooks
    assert "0 of them mention an error" in webhooks.detail
    assert int(webhooks.detail.split()[0]) >= 1, "the api container logs a webhook line every 0.6 s"
    jobs = found["failed jobs in payments"]
    assert jobs.state == "warn"
    assert jobs.detail == "4 failed jobs in payments; top reasons: card declined ×3; gateway timeout ×1"
    assert result.summary == "1 of 2 findings needs attention: failed jobs in payments."
    assert "2 steps ran at once" in texts(result)
    assert commands(result)[:2] == ["/ops queue retry payments all", "/ops restart api"]

    # The remedy is just its command: a viewer's click is refused, an operator's asks for confirmation.
    refused = await runtime.dispatcher.dispatch(Invocation(commands(result)[0], VIEWER, "C1", "button"))
    assert "needs the *operator* role" in refused.summary
    preview = await runtime.dispatcher.dispatch(Invocation(commands(result)[0], OPERATOR, "C1", "button"))
    assert "Would retry every failed job of payments: 4 now" in texts(preview)
    assert [b.label for b in buttons(preview)] == ["Confirm", "Cancel"]
    await bull_board.set_failing(False)
    done = await click(runtime, preview, "confirm", OPERATOR)
    assert done.ok and "retried 4 failed jobs of payments" in done.summary
    restart = await runtime.dispatcher.dispatch(Invocation(commands(result)[1], OPERATOR, "C1", "button"))
    assert "Confirm" in [b.label for b in buttons(restart)], "restart api waits for its confirmation too"


async def test_a_hung_step_shows_as_a_timeout_while_the_others_still_report(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str
) -> None:
    stuck = await start_http_target({"/admin/queues/api/queues": hangs()})
    try:
        runtime = await make_runtime(
            config(compose_project, board_url=f"{stuck.url}/admin/queues", timeout="1s"),
            redis_prefix=f"{redis_prefix}diag-hung:",
        )
        started = time.monotonic()
        result = await ask(runtime, "diagnose payments")
        took = time.monotonic() - started
    finally:
        await stuck.close()
    found = findings(result)
    assert found["failed jobs in payments"].state == "timeout"
    assert found["failed jobs in payments"].detail == "no answer within 1s"
    assert found["webhooks in api logs (last 15 min)"].state == "ok", "the other step still reports"
    assert took < 4, f"the whole diagnose waits for the step timeout (1 s), not a default one (5 s): {took:.2f}s"


# ---- slow --------------------------------------------------------------------------------------------


@pytest.fixture
def preloaded_pg() -> Iterator[PrivatePostgres]:
    server = start_private_postgres(shared_preload_libraries="pg_stat_statements")
    if server is None:
        pytest.skip("cannot start a private Postgres here (initdb/pg_ctl missing)")
    yield server
    server.stop()


async def test_slow_reports_latency_slowest_statements_and_cache_hit_rate(
    make_runtime: RuntimeFactory, compose_project: str, preloaded_pg: PrivatePostgres, redis_prefix: str
) -> None:
    conn = await asyncpg.connect(preloaded_pg.url, timeout=5)
    try:
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        for _ in range(2):
            await conn.execute("SELECT pg_sleep(0.6)")
    finally:
        await conn.close()
    target = await start_exporter(Exporter())
    try:
        runtime = await make_runtime(
            config(compose_project, api_url=target.url, target_db=preloaded_pg.url),
            redis_prefix=f"{redis_prefix}diag-slow:",
        )
        result = await ask(runtime, "diagnose slow")
    finally:
        await target.close()
    found = findings(result)
    latency = found["request latency"]
    assert latency.state == "warn", "p95 of 1 s is above latency_warn (500ms), below latency_fail (2s)"
    assert latency.detail == (
        "slowest route POST /payments: p50 1.00 s, p95 1.00 s, p99 1.00 s (2 routes, since the API started)"
    )
    queries = found["slowest queries"]
    assert queries.state == "warn" and "pg_sleep" in queries.detail, queries
    assert float(queries.detail.split(": ")[1].split(" ms")[0]) >= 600
    assert found["cache hit rate"].state == "ok" and found["cache hit rate"].detail.startswith("93.0%")
    tables = [b for b in result.blocks if isinstance(b, Table)]
    assert tables[0].columns[0] == "ROUTE" and tables[1].columns[0] == "MEAN MS"
    assert commands(result) == ["/ops db slow 10", "/ops metrics latency", "/ops cache stats"]


async def test_slow_says_when_pg_stat_statements_is_missing(
    make_runtime: RuntimeFactory, compose_project: str, target_db_url: str, redis_prefix: str
) -> None:
    target = await start_exporter(Exporter(cache_hit_rate=0.4))
    try:
        runtime = await make_runtime(
            config(compose_project, api_url=target.url, target_db=target_db_url),
            redis_prefix=f"{redis_prefix}diag-slow2:",
        )
        result = await ask(runtime, "diagnose slow")
    finally:
        await target.close()
    found = findings(result)
    assert found["slowest queries"].state == "warn"
    assert "pg_stat_statements extension is not installed" in found["slowest queries"].detail
    assert found["cache hit rate"].state == "fail", "40% is below the 50% line"


# ---- api, db, redis --------------------------------------------------------------------------------------


async def test_api_db_and_redis_sections(
    make_runtime: RuntimeFactory,
    compose_project: str,
    target_db_url: str,
    health_api: HttpTarget,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # what the sections hold, not how fast a loaded machine answers PING (that: the test below)
    monkeypatch.setattr(handlers.diagnose, "PING_WARN_MS", 60_000.0)
    runtime = await make_runtime(
        config(
            compose_project,
            api_url=health_api.url,
            health={"api": "/health", "redis": "/health/redis"},
            target_db=target_db_url,
            target_redis=REDIS_URL,
        ),
        redis_prefix=f"{redis_prefix}diag-sections:",
    )
    api, db, redis = await asyncio.gather(
        ask(runtime, "diagnose api", OPERATOR), ask(runtime, "diagnose db"), ask(runtime, "diagnose redis", OPERATOR)
    )

    assert api.ok, api.summary
    found = findings(api)
    assert found["api container"].detail.startswith(f"{compose_project}-api-1 is up")
    assert found["errors in api's last 100 log lines"].detail == "0 of 100 lines mention an error"
    assert found["GET /health"].detail == "HTTP 200"
    assert commands(api) == ["/ops restart api", "/ops logs api --tail 100"]

    found = findings(db)
    assert db.ok, db.summary
    assert re.search(r"\d connections? to pedidos_", found["connections (pg_stat_activity)"].detail)
    assert "Not checked (not configured in ops.yml): GET db." in texts(db)

    found = findings(redis)
    assert redis.ok, redis.summary
    assert found["Redis PING"].detail.startswith("PONG in ")
    assert "used" in found["Redis memory"].detail
    assert found["GET /health/redis"].state == "ok"
    assert commands(redis) == ["/ops restart redis", "/ops cache stats"]


async def test_a_slow_redis_ping_is_a_warning_with_its_time(
    make_runtime: RuntimeFactory, compose_project: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers.diagnose, "PING_WARN_MS", 0.0)  # every real round trip is slower than 0 ms
    runtime = await make_runtime(
        config(compose_project, target_redis=REDIS_URL), redis_prefix=f"{redis_prefix}diag-slow-ping:"
    )
    found = findings(await ask(runtime, "diagnose redis", OPERATOR))
    assert found["Redis PING"].state == "warn"
    assert re.fullmatch(r"PONG in \d+\.\d ms", found["Redis PING"].detail), found["Redis PING"].detail


async def test_an_unknown_section_lists_the_sections(make_runtime: RuntimeFactory, compose_project: str) -> None:
    result = await ask(await make_runtime(config(compose_project)), "diagnose network")
    assert "api" in result.summary and "payments" in result.summary and not result.ok


# ---- findings into an incident's thread ----------------------------------------------------------------------


async def test_add_to_incident_posts_the_findings_into_its_thread_once(
    make_runtime: RuntimeFactory, compose_project: str, fresh_db_url: str, redis_prefix: str
) -> None:
    async with SlackEmulator() as emu:
        notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
        runtime = await make_runtime(
            config(compose_project, target_redis=REDIS_URL, extra="escalation:\n  sev2:\n    - {ticket: true}\n"),
            database_url=fresh_db_url,
            notifier=notifier,
            redis_prefix=f"{redis_prefix}diag-inc:",
        )
        assert runtime.deps.escalation is not None
        runtime.deps.escalation.poll = 0.1
        declared = await ask(runtime, "incident declare sev2 Redis se desconecta")
        assert declared.ok, declared.summary
        await emu.wait_for("chat.postMessage", timeout=3)  # the incident's thread opens

        result = await ask(runtime, "diagnose redis")
        add = next(b for b in buttons(result) if b.label == "Add to INC-1")
        assert add.command.startswith("/ops diagnose post ") and add.command.endswith(" 1")

        posted = await runtime.dispatcher.dispatch(Invocation(add.command, VIEWER, "C1", "button"))
        assert posted.summary == "The findings go into INC-1's thread."
        again = await runtime.dispatcher.dispatch(Invocation(add.command, VIEWER, "C1", "button"))
        assert again.summary == "These findings are already in INC-1's thread."

        def is_note(call: object) -> bool:
            return "diagnose findings" in str(getattr(call, "args", {}).get("text", ""))

        [note] = await emu.wait_for("chat.postMessage", predicate=is_note, timeout=5)
        thread = sorted(emu.messages)[0]
        assert note.args["thread_ts"] == thread
        text = str(note.args["text"])
        assert f"<@{VIEWER}> added diagnose findings (redis)" in text
        assert "Redis PING: PONG in" in text and "== Diagnose: Redis disconnected ==" in text

        # Findings are data: whatever they contain is escaped in the thread.
        assert runtime.deps.escalation is not None
        rendered = runtime.deps.escalation._note_text(
            {"event": "diagnosis", "user": VIEWER, "section": "api", "text": "<!channel> ```x```"}
        )
        assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered
