"""Spanish leftovers seen by running the demo in Spanish, command by command: decimals written
with a point ("PONG en 3.7 ms", "1.3 KB"), status naming its containers in English, and the
audit table's decision and outcome codes (allowed, failed) and an incident's state (open) left
as the bot stores them, a procedure's seconds as "hecho en 0.2s".

Through the real dispatcher, against the session's real containers, Redis and bot database."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REDIS_URL, RuntimeFactory, base_config
from targets import delayed, start_http_target
from test_steps import context, makefile, steps_config

from bot.core.dispatcher import Invocation
from bot.output.results import Checks, Result, Table, Text
from bot.procedures.backups import human_size
from bot.procedures.steps import Procedure, configured_step


def table_rows(result: Result) -> list[list[str]]:
    return next(b for b in result.blocks if isinstance(b, Table)).rows


def test_sizes_carry_the_readers_decimal_mark() -> None:
    assert human_size(1331, "es") == "1,3 KB" and human_size(1331, "en") == "1.3 KB"
    assert human_size(5 * 1024**3 + 1024**3 // 2, "es") == "5,5 GB"
    assert human_size(999, "es") == "999 B"


async def test_status_names_its_containers_and_the_ping_in_spanish(
    make_runtime: RuntimeFactory, compose_project: str, target_db_url: str
) -> None:
    target = await start_http_target({"/health": delayed(0)})
    try:
        cfg = base_config(
            api_url=target.url, project=compose_project, target_db=target_db_url, target_redis=REDIS_URL, locale="es"
        )
        runtime = await make_runtime(cfg)
        status = await runtime.dispatcher.dispatch(Invocation("status", "U0VIEW", "C1", "slack"))
        ping = await runtime.dispatcher.dispatch(Invocation("cache ping", "U0VIEW", "C1", "slack"))
    finally:
        await target.close()
    names = [c.name for block in status.blocks if isinstance(block, Checks) for c in block.checks]
    assert {"contenedor api", "contenedor postgres", "contenedor redis"} <= set(names), names
    assert not any(name.startswith("container ") for name in names), names
    assert re.fullmatch(r"PONG en \d+,\d ms", ping.summary), ping.summary


async def test_the_audit_table_speaks_the_readers_language(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(locale="es"))
    await runtime.dispatcher.dispatch(Invocation("help", "U0VIEW", "C1", "slack"))
    await runtime.dispatcher.dispatch(Invocation("audit", "U0VIEW", "C1", "slack"))  # a viewer: refused
    shown = await runtime.dispatcher.dispatch(Invocation("audit 5", "U0ADMIN", "C1", "slack"))
    by_command = {row[3].split()[0]: (row[4], row[5]) for row in reversed(table_rows(shown))}
    assert by_command["help"] == ("permitido", "ok")
    assert by_command["audit"] == ("denegado", "rechazado")
    english = {"allowed", "denied", "refused", "failed", "executed"}
    assert not english & {word for row in table_rows(shown) for word in row[4:6]}


async def test_a_procedure_counts_its_seconds_with_the_readers_decimal_mark(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path, redis_prefix: str
) -> None:
    makefile(tmp_path, {"build": "@sleep 0.3", "deploy": "@true"})
    steps = f"    build: {{cwd: {tmp_path}, run: make build}}\n    deploy: {{cwd: {tmp_path}, run: make deploy}}\n"
    runtime = await make_runtime(steps_config(compose_project, steps, locale="es"), redis_prefix=redis_prefix)
    ctx = context(runtime)
    procedure = Procedure(
        ctx, "Build", [configured_step(ctx, "build"), configured_step(ctx, "deploy")], filename="o.log", interval=0.05
    )
    assert await procedure.run()
    result = procedure.result()
    lines = result.blocks[0]
    assert isinstance(lines, Text)
    assert re.search(r"hecho en \d+,\d+s", lines.text), lines.text
    assert re.search(r"terminaron en \d+,\d+s", result.summary), result.summary
    assert not re.search(r"\d\.\ds", lines.text + result.summary)


async def test_the_incident_list_says_the_state_in_words(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(locale="es"))
    declared = await runtime.dispatcher.dispatch(
        Invocation("incident declare sev2 Checkout lento", "U0VIEW", "C1", "slack")
    )
    assert declared.ok, declared.summary
    listed = await runtime.dispatcher.dispatch(Invocation("incident list", "U0VIEW", "C1", "slack"))
    [row] = table_rows(listed)
    assert row[2] == "abierto", row
