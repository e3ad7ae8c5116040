"""Cache and tenant operations against a private real redis-server and the run's real Postgres.

The stack's Redis here is a redis-server of this module's own (FLUSHALL and key counts
must not touch the shared server on 6379); the stack's Postgres is the run's target
database with its `tenants` table.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis
from confirm_flow import buttons, click, run_confirmed
from conftest import RuntimeFactory, base_config
from private_redis import PrivateRedis, free_port

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Buttons, Result
from bot.output.terminal import render_text
from bot.text.errors import TargetError, UsageError
from bot.text.messages import CATALOG
from handlers.cache import FlushInterrupted, count_tenant_keys, flush_tenant_keys, glob_escape, tenant_pattern
from handlers.tenants import quote_identifier

OPERATOR, ADMIN, VIEWER = "U0OPER", "U0ADMIN", "U0VIEW"
BAD_IDS = ["*", "abc*", "a?c", "[a-z]", "../x", "''", "x" * 65, "x" * 500, "abc\\\\123", "abc123:*"]


@pytest.fixture
async def tenants(target_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the stack's database; both seeded tenants are active before and after."""
    conn = await asyncpg.connect(target_db_url, timeout=5)
    reset = "UPDATE tenants SET active = true WHERE id IN ('abc123', 'zz9')"
    await conn.execute(reset)
    try:
        yield conn
    finally:
        await conn.execute(reset)
        await conn.close()


def fill(client: redis.Redis, tenant: str, count: int, prefix: str = "tenant") -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}:{tenant}:k{i}", "v")
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()


def neighbours(client: redis.Redis) -> None:
    """Keys that share a prefix with tenant abc123 but belong to someone else."""
    fill(client, "abc1234", 30)
    fill(client, "zz9", 40)
    client.set("tenant:abc123", "no trailing colon")
    client.set("other:abc123:x", "another namespace")


def keys_of(client: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in client.scan_iter(match=pattern, count=1000))


def text_of(result: Result) -> str:
    return render_text(result).text


async def runtime_for(
    make_runtime: RuntimeFactory, redis_url: str | None, db_url: str | None, extra: str = ""
) -> Runtime:
    return await make_runtime(base_config(target_redis=redis_url, target_db=db_url, extra=extra))


class Direct:
    """Call an operation's handler or preview the way the confirmation flow would, recording progress."""

    def __init__(self, runtime: Runtime, name: str, user: str, role: str, **fields: Any) -> None:
        self.runtime = runtime
        self.op = runtime.deps.registry.get(name)
        assert self.op is not None, name
        self.progress: list[str] = []

        async def record(text: str) -> None:
            self.progress.append(text)

        self.ctx = runtime.dispatcher.context(Invocation(name, user, "C1", "slack"), role, progress=record)
        self.args = self.op.args.model_validate(
            fields, context={"config": runtime.deps.config, "t": runtime.dispatcher.t}
        )

    async def preview(self) -> Result:
        assert self.op.preview is not None
        return await self.op.preview(self.ctx, self.args)

    async def run(self) -> Result:
        return await self.op.handler(self.ctx, self.args)


# ---- tenant ids can never widen the match ------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_glob_or_malformed_tenant_id_is_refused_and_deletes_nothing(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis, bad: str
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 50)
    neighbours(stack_redis)
    before = stack_redis.dbsize()
    for command in ("cache flush-tenant", "tenant disable", "tenant show"):
        user = ADMIN if "disable" in command else OPERATOR
        result = await runtime.dispatcher.dispatch(Invocation(f"{command} {bad}", user, "C1", "slack"))
        assert not result.ok and "Usage: `/ops " in result.summary, (command, bad, result.summary)
    assert stack_redis.dbsize() == before


async def test_missing_tenant_id_answers_with_the_usage(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    result = await runtime.dispatcher.dispatch(Invocation("cache flush-tenant", OPERATOR, "C1", "slack"))
    assert not result.ok and "/ops cache flush-tenant <tenant>" in result.summary


async def test_wildcards_are_refused_even_when_the_configured_pattern_allows_anything(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None, extra='tenant_id_pattern: "^.+$"\n')
    fill(stack_redis, "abc123", 20)
    for bad in ("*", "abc*", "a?c", "[a-z]*", "abc\\\\*"):
        result = await runtime.dispatcher.dispatch(Invocation(f"cache flush-tenant {bad}", OPERATOR, "C1", "slack"))
        assert not result.ok and "wildcards" in result.summary, bad
        with pytest.raises(UsageError):
            tenant_pattern(runtime.config, bad.replace("\\\\", "\\"))
    assert stack_redis.dbsize() == 20


async def test_escaped_glob_matches_only_the_literal_key(private_redis: PrivateRedis, stack_redis: redis.Redis) -> None:
    stack_redis.mset({"tenant:a*:1": "x", "tenant:abc:1": "x", "tenant:a?c:1": "x", "tenant:[ab]:1": "x"})
    client = aioredis.from_url(private_redis.url)
    try:
        for literal in ("a*", "a?c", "[ab]"):
            counted = await count_tenant_keys(client, f"tenant:{glob_escape(literal)}:*")
            assert counted.samples == [f"tenant:{literal}:1"]
    finally:
        await client.aclose()


# ---- flush one tenant ------------------------------------------------------------------------


async def test_preview_counts_the_keys_and_deletes_nothing(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 1234)
    neighbours(stack_redis)
    before = sorted(stack_redis.scan_iter(count=1000))
    preview = await Direct(runtime, "cache flush-tenant", OPERATOR, "operator", tenant="abc123").preview()
    assert preview.ok
    assert "1,234 keys match `tenant:abc123:*`" in text_of(preview)
    assert "tenant:abc123:k" in text_of(preview), "a few sample keys are shown"
    assert sorted(stack_redis.scan_iter(count=1000)) == before


async def test_flush_deletes_the_tenant_keys_and_only_them_with_progress(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 60_000)
    neighbours(stack_redis)
    call = Direct(runtime, "cache flush-tenant", OPERATOR, "operator", tenant="abc123")
    result = await call.run()
    assert result.ok, text_of(result)
    assert "Deleted 60,000 cache keys of tenant abc123 in" in result.summary
    (line,) = call.progress  # one report per 50,000 keys, with the count reached at that point
    assert re.fullmatch(r"deleted 5\d,\d{3} keys so far", line), line
    assert keys_of(stack_redis, "tenant:abc123:*") == 0
    assert keys_of(stack_redis, "tenant:abc1234:*") == 30
    assert keys_of(stack_redis, "tenant:zz9:*") == 40
    assert stack_redis.exists("tenant:abc123", "other:abc123:x") == 2


async def test_flush_of_a_tenant_without_keys_says_zero(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    neighbours(stack_redis)
    before = stack_redis.dbsize()
    result = await Direct(runtime, "cache flush-tenant", OPERATOR, "operator", tenant="abc123").run()
    assert result.ok and "Deleted 0 cache keys" in result.summary
    assert stack_redis.dbsize() == before


async def test_flush_tenant_asks_for_confirmation_before_deleting(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 10)
    result = await runtime.dispatcher.dispatch(Invocation("cache flush-tenant abc123", OPERATOR, "C1", "slack"))
    assert "10 keys match" in text_of(result)
    assert keys_of(stack_redis, "tenant:abc123:*") == 10


async def test_viewer_cannot_flush_a_tenant(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 10)
    result = await runtime.dispatcher.dispatch(Invocation("cache flush-tenant abc123", VIEWER, "C1", "slack"))
    assert not result.ok and "operator" in result.summary
    assert keys_of(stack_redis, "tenant:abc123:*") == 10


# ---- flush everything ------------------------------------------------------------------------


async def test_flush_all_preview_counts_the_stacks_database_and_the_flush_empties_only_it(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 100)
    other_db = private_redis.client(db=3)
    other_db.set("x", "1")
    try:
        call = Direct(runtime, "cache flush-all", ADMIN, "admin")
        preview = await call.preview()
        where = f"127.0.0.1:{private_redis.port}/0"
        assert f"FLUSHDB would delete 100 keys in database {where}" in text_of(preview)
        assert "not touched: db3 (1)" in text_of(preview)
        assert stack_redis.dbsize() == 100 and other_db.dbsize() == 1
        result = await call.run()
        assert result.ok and f"FLUSHDB of {where} done: 100 keys were there just before, 0 left" in result.summary
        assert stack_redis.dbsize() == 0 and other_db.dbsize() == 1
    finally:
        other_db.close()


async def test_flush_all_is_admin_only(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    stack_redis.set("k", "v")
    result = await runtime.dispatcher.dispatch(Invocation("cache flush-all", OPERATOR, "C1", "slack"))
    assert not result.ok and "admin" in result.summary
    assert stack_redis.dbsize() == 1


# ---- read-only ---------------------------------------------------------------------------------


async def test_stats_show_version_memory_keys_and_hit_rate(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    stack_redis.config_resetstat()
    fill(stack_redis, "abc123", 7)
    stack_redis.get("tenant:abc123:k1")
    stack_redis.get("tenant:abc123:k2")
    stack_redis.get("tenant:abc123:k3")
    stack_redis.get("missing")
    result = await runtime.dispatcher.dispatch(Invocation("cache stats", VIEWER, "C1", "slack"))
    text = text_of(result)
    assert result.ok, text
    assert stack_redis.info("server")["redis_version"] in text
    assert re.search(r"Hit rate \(Redis server\) +75\.0%", text), text
    for label in ("Uptime", "Connected clients", "Used memory", "Evicted keys"):
        assert label in text
    assert "db0" in text and "7" in text


async def test_ping_reports_latency(make_runtime: RuntimeFactory, private_redis: PrivateRedis) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    result = await runtime.dispatcher.dispatch(Invocation("cache ping", VIEWER, "C1", "slack"))
    assert result.ok and result.summary.startswith("PONG in ")


@pytest.mark.parametrize("command", ["cache stats", "cache ping"])
async def test_stack_redis_down_gives_a_clear_message(make_runtime: RuntimeFactory, command: str) -> None:
    runtime = await runtime_for(make_runtime, f"redis://127.0.0.1:{free_port()}/0", None)
    result = await runtime.dispatcher.dispatch(Invocation(command, VIEWER, "C1", "slack"))
    assert not result.ok
    assert result.summary.startswith("redis: stack Redis unreachable:"), result.summary
    assert "error id" not in result.summary and "Traceback" not in result.summary


async def test_flush_preview_with_redis_down_is_a_target_error(make_runtime: RuntimeFactory) -> None:
    runtime = await runtime_for(make_runtime, f"redis://127.0.0.1:{free_port()}/0", None)
    with pytest.raises(TargetError):
        await Direct(runtime, "cache flush-tenant", OPERATOR, "operator", tenant="abc123").preview()


async def test_cache_commands_without_a_stack_redis_say_so(make_runtime: RuntimeFactory) -> None:
    runtime = await runtime_for(make_runtime, None, None)
    result = await runtime.dispatcher.dispatch(Invocation("cache stats", VIEWER, "C1", "slack"))
    assert not result.ok and "`stack.redis` is not set in ops.yml" in result.summary


# ---- tenants -----------------------------------------------------------------------------------


async def test_show_gives_the_row_and_its_cache_key_count(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    fill(stack_redis, "abc123", 12)
    neighbours(stack_redis)
    result = await runtime.dispatcher.dispatch(Invocation("tenant show abc123", VIEWER, "C1", "slack"))
    text = text_of(result)
    assert result.ok, text
    for line in ("id          abc123", "name        Tienda ABC", "active      true", "cache keys  12"):
        assert line in text, text


async def test_show_of_an_unknown_tenant_says_so(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, target_db_url: str
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    result = await runtime.dispatcher.dispatch(Invocation("tenant show nope42", VIEWER, "C1", "slack"))
    assert not result.ok and result.summary == "There is no tenant `nope42` in table tenants. Nothing was changed."


async def test_show_with_redis_down_still_gives_the_row(make_runtime: RuntimeFactory, target_db_url: str) -> None:
    runtime = await runtime_for(make_runtime, f"redis://127.0.0.1:{free_port()}/0", target_db_url)
    result = await runtime.dispatcher.dispatch(Invocation("tenant show zz9", VIEWER, "C1", "slack"))
    text = text_of(result)
    assert result.ok and "name        Otra" in text
    assert "cache keys  unknown (stack Redis unreachable:" in text


async def test_disable_preview_shows_the_state_and_changes_nothing(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    fill(stack_redis, "abc123", 25)
    preview = await Direct(runtime, "tenant disable", ADMIN, "admin", tenant="abc123").preview()
    assert preview.ok
    assert "Tenant abc123 is active. Confirming sets it disabled and deletes its cache keys (25)" in text_of(preview)
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is True
    assert keys_of(stack_redis, "tenant:abc123:*") == 25


async def test_disable_turns_the_tenant_off_and_clears_only_its_cache(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    fill(stack_redis, "abc123", 1234)
    neighbours(stack_redis)
    result = await Direct(runtime, "tenant disable", ADMIN, "admin", tenant="abc123").run()
    assert result.ok, result.summary
    assert result.summary.startswith("tenant abc123 disabled (was active); 1,234 cache keys deleted in ")
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is False
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'zz9'") is True
    assert keys_of(stack_redis, "tenant:abc123:*") == 0
    assert keys_of(stack_redis, "tenant:abc1234:*") == 30 and keys_of(stack_redis, "tenant:zz9:*") == 40


async def test_enable_reverses_disable_and_leaves_the_cache_alone(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    await Direct(runtime, "tenant disable", ADMIN, "admin", tenant="abc123").run()
    fill(stack_redis, "abc123", 5)
    enable = Direct(runtime, "tenant enable", ADMIN, "admin", tenant="abc123")
    preview = await enable.preview()
    assert "Tenant abc123 is disabled. Confirming sets it active." in text_of(preview)
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is False
    result = await enable.run()
    assert result.ok and result.summary.startswith("tenant abc123 enabled (was disabled)")
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is True
    assert keys_of(stack_redis, "tenant:abc123:*") == 5


@pytest.mark.parametrize("name", ["tenant disable", "tenant enable"])
async def test_unknown_tenant_is_refused_before_anything(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
    name: str,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    fill(stack_redis, "nope42", 3)
    call = Direct(runtime, name, ADMIN, "admin", tenant="nope42")
    with pytest.raises(UsageError):
        await call.preview()
    with pytest.raises(UsageError):
        await call.run()
    typed = await runtime.dispatcher.dispatch(Invocation(f"{name} nope42", ADMIN, "C1", "slack"))
    assert not typed.ok and "There is no tenant `nope42`" in typed.summary
    assert not any(isinstance(b, Buttons) for b in typed.blocks), "no Confirm button is offered"
    assert keys_of(stack_redis, "tenant:nope42:*") == 3
    assert await tenants.fetchval("SELECT count(*) FROM tenants WHERE id = 'nope42'") == 0


async def test_disable_with_redis_down_reports_the_partial_outcome(
    make_runtime: RuntimeFactory, target_db_url: str, tenants: asyncpg.Connection
) -> None:
    runtime = await runtime_for(make_runtime, f"redis://127.0.0.1:{free_port()}/0", target_db_url)
    preview = await Direct(runtime, "tenant disable", ADMIN, "admin", tenant="abc123").preview()
    assert "cache keys (unknown (stack Redis unreachable:" in text_of(preview)
    result = await Direct(runtime, "tenant disable", ADMIN, "admin", tenant="abc123").run()
    assert not result.ok
    assert result.summary.startswith("PARTIAL: tenant abc123 disabled (was active), but clearing its cache FAILED")
    assert "/ops cache flush-tenant abc123" in result.summary
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is False


async def test_disable_and_enable_need_an_admin(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, target_db_url: str, tenants: asyncpg.Connection
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    for command in ("tenant disable abc123", "tenant enable abc123"):
        result = await runtime.dispatcher.dispatch(Invocation(command, OPERATOR, "C1", "slack"))
        assert not result.ok and "admin" in result.summary
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is True


def test_every_cache_and_tenant_sentence_is_in_both_languages() -> None:
    mine = [k for k in CATALOG if k.startswith(("cache.", "tenant.", "arg.tenant"))]
    assert len(mine) > 30
    assert all(CATALOG[k].get("en") and CATALOG[k].get("es") for k in mine)


# ---- the two ways of walking the key space -----------------------------------------------------


@pytest.mark.parametrize("server_side", [True, False], ids=["lua-step", "client-pipeline"])
async def test_both_walks_delete_exactly_the_tenant_keys_in_small_batches(
    private_redis: PrivateRedis, stack_redis: redis.Redis, server_side: bool
) -> None:
    fill(stack_redis, "abc123", 2345)
    neighbours(stack_redis)
    others = stack_redis.dbsize() - 2345
    client = aioredis.from_url(private_redis.url)
    reports: list[int] = []

    async def progress(deleted: int) -> None:
        reports.append(deleted)

    try:
        counted = await count_tenant_keys(client, "tenant:abc123:*", scan_count=37, server_side=server_side)
        assert counted.count == 2345 and len(counted.samples) == 5
        report = await flush_tenant_keys(
            client,
            "tenant:abc123:*",
            on_progress=progress,
            progress_every=500,
            scan_count=37,
            unlink_batch=3,
            server_side=server_side,
        )
    finally:
        await client.aclose()
    assert report.deleted == 2345
    assert stack_redis.dbsize() == others and keys_of(stack_redis, "tenant:abc1234:*") == 30
    assert len(reports) == 4 and reports == sorted(reports) and all(n >= 500 * (i + 1) for i, n in enumerate(reports))


async def test_flush_walks_from_the_client_when_the_server_refuses_scripts(
    private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    stack_redis.acl_setuser("noscript", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-@scripting"])
    client = aioredis.from_url(f"redis://noscript:pw@127.0.0.1:{private_redis.port}/0")
    try:
        fill(stack_redis, "abc123", 300)
        neighbours(stack_redis)
        with pytest.raises(FlushInterrupted):
            await flush_tenant_keys(client, "tenant:abc123:*", server_side=True)
        assert (await count_tenant_keys(client, "tenant:abc123:*")).count == 300
        report = await flush_tenant_keys(client, "tenant:abc123:*")
        assert report.deleted == 300 and keys_of(stack_redis, "tenant:zz9:*") == 40
    finally:
        await client.aclose()
        stack_redis.acl_deluser("noscript")


async def test_a_failing_progress_report_does_not_stop_the_flush(
    private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    fill(stack_redis, "abc123", 1000)
    client = aioredis.from_url(private_redis.url)

    async def broken(_: int) -> None:
        raise RuntimeError("Slack is down")

    try:
        report = await flush_tenant_keys(client, "tenant:abc123:*", on_progress=broken, progress_every=100)
    finally:
        await client.aclose()
    assert report.deleted == 1000 and stack_redis.dbsize() == 0


def test_table_names_are_quoted_as_postgres_reads_them_unquoted() -> None:
    assert quote_identifier("tenants") == '"tenants"'
    assert quote_identifier("Public.Tenants") == '"public"."tenants"'
    assert quote_identifier('x"; DROP TABLE t; --') == '"x""; drop table t; --"'


async def test_spanish_catalog_is_used(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await make_runtime(base_config(target_redis=private_redis.url, locale="es"))
    fill(stack_redis, "abc123", 1500)
    preview = await Direct(runtime, "cache flush-tenant", OPERATOR, "operator", tenant="abc123").preview()
    assert "1.500 claves coinciden con `tenant:abc123:*`" in text_of(preview)
    refused = await runtime.dispatcher.dispatch(Invocation("cache flush-tenant abc*", OPERATOR, "C1", "slack"))
    assert "no se permiten comodines" in refused.summary


# ---- the full flow: typed command, preview with buttons, confirmation, approval ----------------


async def test_flush_tenant_runs_once_confirmed_and_not_before(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 321)
    neighbours(stack_redis)
    others = stack_redis.dbsize() - 321
    preview = await runtime.dispatcher.dispatch(Invocation("cache flush-tenant abc123", OPERATOR, "C1", "slack"))
    assert buttons(preview) and "321 keys match" in text_of(preview)
    assert keys_of(stack_redis, "tenant:abc123:*") == 321, "the preview deleted nothing"
    done = await click(runtime, preview, "confirm", OPERATOR)
    assert done.ok and "Deleted 321 cache keys of tenant abc123" in text_of(done)
    assert keys_of(stack_redis, "tenant:abc123:*") == 0 and stack_redis.dbsize() == others
    again = await click(runtime, preview, "confirm", OPERATOR)
    assert not again.ok, "a second click does not run it again"


async def test_flush_all_needs_a_second_admin(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, stack_redis: redis.Redis
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, None)
    fill(stack_redis, "abc123", 40)
    confirmed_only = await run_confirmed(runtime, "cache flush-all", ADMIN)
    assert "Approve" in str(confirmed_only.blocks) and stack_redis.dbsize() == 40
    done = await run_confirmed(runtime, "cache flush-all", ADMIN, approver="U0ADMIN2")
    assert done.ok and "done: 40 keys were there just before, 0 left" in text_of(done)
    assert stack_redis.dbsize() == 0


async def test_disable_then_enable_through_confirmation(
    make_runtime: RuntimeFactory,
    private_redis: PrivateRedis,
    stack_redis: redis.Redis,
    target_db_url: str,
    tenants: asyncpg.Connection,
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    fill(stack_redis, "abc123", 77)
    neighbours(stack_redis)
    disabled = await run_confirmed(runtime, "tenant disable abc123", ADMIN)
    assert disabled.ok and "tenant abc123 disabled (was active); 77 cache keys deleted" in text_of(disabled)
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is False
    assert keys_of(stack_redis, "tenant:abc123:*") == 0 and keys_of(stack_redis, "tenant:zz9:*") == 40
    enabled = await run_confirmed(runtime, "tenant enable abc123", ADMIN)
    assert enabled.ok and "tenant abc123 enabled (was disabled)" in text_of(enabled)
    assert await tenants.fetchval("SELECT active FROM tenants WHERE id = 'abc123'") is True


async def test_unknown_tenant_gets_no_confirm_button(
    make_runtime: RuntimeFactory, private_redis: PrivateRedis, target_db_url: str, tenants: asyncpg.Connection
) -> None:
    runtime = await runtime_for(make_runtime, private_redis.url, target_db_url)
    result = await run_confirmed(runtime, "tenant disable nope42", ADMIN)
    assert not result.ok and not buttons(result) and "There is no tenant `nope42`" in result.summary
