"""`/ops tenant list [pattern]`: the tenants table, so an id can be found before `tenant show`.

Against a real Postgres database of its own (sixty tenants, more than one answer shows), through
the real dispatcher. Also the `tenant disable` preview saying "Nothing has changed yet." once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from conftest import PG_HOST, REDIS_URL, RuntimeFactory, _admin, base_config

from bot.core.dispatcher import Invocation
from bot.output.results import Result, Table
from bot.output.terminal import render_text
from handlers.tenants import LIST_LIMIT, like_pattern

VIEWER, ADMIN = "U0VIEW", "U0ADMIN"
MANY = 60


@pytest.fixture(scope="module")
def many_tenants(run_id: str) -> Iterator[str]:
    """A stack database of its own with sixty tenants, two of them disabled, one with a `%` in its name."""
    name = f"tenantlist_{run_id}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@{PG_HOST}:5432/{name}"

    async def seed() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(
                "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true)"
            )
            rows = [(f"t{n:03d}", f"Tienda {n}", n not in (7, 8)) for n in range(MANY - 3)]
            rows += [("abc123", "Tienda ABC", True), ("xyz789", "Mercado XYZ", False), ("pct1", "100% Orgánico", True)]
            await conn.executemany("INSERT INTO tenants VALUES ($1, $2, $3)", rows)
        finally:
            await conn.close()

    asyncio.run(seed())
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def ask(make_runtime: RuntimeFactory, db: str, text: str, locale: str = "en") -> Result:
    runtime = await make_runtime(base_config(target_db=db, target_redis=REDIS_URL, locale=locale))
    return await runtime.dispatcher.dispatch(Invocation(text, VIEWER, "C1", "slack"))


def rows_of(result: Result) -> list[list[str]]:
    return next(b for b in result.blocks if isinstance(b, Table)).rows


async def test_a_viewer_lists_the_tenants_sorted_and_bounded_saying_how_many_more(
    make_runtime: RuntimeFactory, many_tenants: str
) -> None:
    result = await ask(make_runtime, many_tenants, "tenant list")
    assert result.ok, result.summary
    rows = rows_of(result)
    assert len(rows) == LIST_LIMIT
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and rows[0] == ["abc123", "Tienda ABC", "active"]
    assert f"{LIST_LIMIT} of {MANY} tenants" in result.summary
    assert f"and {MANY - LIST_LIMIT} more; narrow it with `/ops tenant list <pattern>`" in render_text(result).text


async def test_a_pattern_matches_ids_and_names_as_a_substring_or_a_glob(
    make_runtime: RuntimeFactory, many_tenants: str
) -> None:
    by_name = rows_of(await ask(make_runtime, many_tenants, "tenant list mercado"))
    assert by_name == [["xyz789", "Mercado XYZ", "disabled"]]
    by_glob = rows_of(await ask(make_runtime, many_tenants, "tenant list t00?"))
    assert [r[0] for r in by_glob] == [f"t00{n}" for n in range(10)]
    assert by_glob[7][2] == "disabled" and by_glob[6][2] == "active"
    starts = rows_of(await ask(make_runtime, many_tenants, "tenant list ab*"))
    assert [r[0] for r in starts] == ["abc123"]


async def test_percent_and_underscore_are_plain_characters_not_wildcards(
    make_runtime: RuntimeFactory, many_tenants: str
) -> None:
    assert [r[0] for r in rows_of(await ask(make_runtime, many_tenants, "tenant list 100%"))] == ["pct1"]
    nothing = await ask(make_runtime, many_tenants, "tenant list t_0")
    assert nothing.ok and "No tenant's id or name in table tenants matches `t_0`" in nothing.summary
    assert like_pattern("a_%\\b") == "%a\\_\\%\\\\b%"


async def test_the_list_speaks_spanish(make_runtime: RuntimeFactory, many_tenants: str) -> None:
    result = await ask(make_runtime, many_tenants, "tenant list xyz", locale="es")
    assert rows_of(result) == [["xyz789", "Mercado XYZ", "desactivado"]]
    assert "1 de 1 tenant" in result.summary
    text = render_text(result).text
    assert "nombre" in text and "estado" in text


async def test_an_overlong_pattern_is_refused_with_the_usage(make_runtime: RuntimeFactory, many_tenants: str) -> None:
    result = await ask(make_runtime, many_tenants, "tenant list " + "x" * 200)
    assert not result.ok and "Traceback" not in render_text(result).text
    assert "tenant list [pattern]" in render_text(result).text


async def test_help_names_the_list(make_runtime: RuntimeFactory, many_tenants: str) -> None:
    shown = render_text(await ask(make_runtime, many_tenants, "help")).text
    assert "/ops tenant list [pattern]" in shown


async def test_the_disable_preview_says_nothing_has_changed_once(
    make_runtime: RuntimeFactory, many_tenants: str
) -> None:
    runtime = await make_runtime(base_config(target_db=many_tenants, target_redis=REDIS_URL))
    preview = await runtime.dispatcher.dispatch(Invocation("tenant disable abc123", ADMIN, "C1", "slack"))
    text = render_text(preview).text
    assert "Confirming sets it disabled" in text
    assert text.count("Nothing has changed yet.") == 1, text
    runtime_es = await make_runtime(base_config(target_db=many_tenants, target_redis=REDIS_URL, locale="es"))
    preview_es = await runtime_es.dispatcher.dispatch(Invocation("tenant enable xyz789", ADMIN, "C1", "slack"))
    assert render_text(preview_es).text.count("Aún no se cambió nada.") == 1, render_text(preview_es).text
