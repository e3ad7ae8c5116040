"""A Spanish user's bad argument is answered in Spanish through the real dispatcher (issue 13).

Each command below fails validation in a different way that pydantic or shlex would describe in
English ("Input should be a valid integer", "String should match pattern", "No closing
quotation"); the reader of `locale: es` must get a Spanish sentence, the usage line, and nothing
run. The runtime is the real one (bot Postgres for the audit, the bot's Redis).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import RuntimeFactory, base_config
from targets import delayed, start_http_target

from bot.core.argtypes import option
from bot.core.dispatcher import Invocation
from bot.core.parsing import bind_words, validate_args
from bot.core.registry import OpArgs, Operation
from bot.output.results import Table
from bot.text.errors import UsageError
from bot.text.messages import Catalog

ENGLISH = re.compile(
    r"\b(should|input|valid|string|pattern|match|closing|quotation|must|least|most|one of|or|the)\b", re.I
)

CASES = [
    ("logs api --tail abc", "debe ser un número entero"),
    ("logs api --tail 0", "debe ser al menos 1"),
    ("diagnose cache", "debe ser uno de `api`, `db`, `redis`, `payments` o `slow`"),
    ("silence expire zz", "no tiene la forma esperada"),
    ('logs "api', "hay una comilla sin cerrar"),
    ("logs api --since ayer", "no es una duración"),
]


def _prose(text: str) -> str:
    """The sentence without code spans and the usage line (commands and flags are not prose)."""
    text = text.split("\nUso:")[0]
    return re.sub(r"`[^`]*`", "", text)


@pytest.mark.parametrize(("command", "expected"), CASES)
async def test_a_spanish_users_bad_argument_gets_spanish_text(
    make_runtime: RuntimeFactory, command: str, expected: str
) -> None:
    runtime = await make_runtime(base_config(locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation(command, "U0ADMIN", "C1", "slack"))
    assert not result.ok, result.summary
    assert expected in result.summary, result.summary
    assert not ENGLISH.search(_prose(result.summary)), result.summary
    assert "Traceback" not in result.summary


async def test_the_same_mistake_in_english_stays_english(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    result = await runtime.dispatcher.dispatch(Invocation("diagnose cache", "U0ADMIN", "C1", "slack"))
    assert "must be one of `api`, `db`, `redis`, `payments`, or `slow`" in result.summary, result.summary


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (("/health", "/health/cache"), "1 de 3 chequeos requiere atención."),
        (("/health",), "2 de 3 chequeos requieren atención."),
    ],
)
async def test_a_spanish_health_summary_agrees_with_its_count(
    make_runtime: RuntimeFactory, routes: tuple[str, ...], expected: str
) -> None:
    """`health` against a real HTTP API where some endpoints answer 404: the verb follows the count."""
    target = await start_http_target({path: delayed(0) for path in routes})
    try:
        health = {"api": "/health", "db": "/health/db", "cache": "/health/cache"}
        runtime = await make_runtime(base_config(api_url=target.url, health=health, locale="es"))
        result = await runtime.dispatcher.dispatch(Invocation("health", "U0VIEW", "C1", "slack"))
    finally:
        await target.close()
    assert not result.ok
    assert result.summary == expected, result.summary


class _Odd(OpArgs):
    """Argument types no operation uses yet: their pydantic errors still reach Spanish readers in Spanish."""

    ratio: float = option(1.0, metavar="R")
    dry: bool = option(False)
    window: timedelta = option(timedelta(minutes=1), metavar="15m")
    items: list[int] = option([], metavar="N")


async def _noop(*_: object) -> None:
    return None


_ODD = Operation(name="odd", args=_Odd, role="viewer", destructive="none", handler=_noop, help="odd")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--ratio", "mucho"], "`ratio`: debe ser un número"),
        (["--dry=quizas"], "`dry`: debe ser sí o no"),
        (["--window", "ayer"], "`window`: no es una duración"),
        (["--items", "x"], "`items`: no es un valor válido"),
    ],
)
def test_pydantic_messages_of_any_type_come_out_in_spanish(words: list[str], expected: str) -> None:
    t = Catalog("es")
    with pytest.raises(UsageError) as caught:
        validate_args(_ODD, bind_words(_ODD, words, t, "/ops"), {"t": t}, t, "/ops")
    text = t(caught.value.key, **caught.value.fields)
    assert expected in text, text
    assert not ENGLISH.search(_prose(text)), text


async def test_a_spanish_ps_says_uptime_in_spanish(make_runtime: RuntimeFactory, compose_project: str) -> None:
    """`ps` against real busybox containers: the uptime column is Spanish, with Babel's units."""
    runtime = await make_runtime(base_config(project=compose_project, locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation("ps", "U0VIEW", "C1", "slack"))
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    uptimes = [row[3] for row in table.rows]
    assert uptimes and all(re.fullmatch(r"activo desde hace \d+( ms|s|min|h|d)( \d+(s|min|h))?", u) for u in uptimes), (
        uptimes
    )
    english = await (await make_runtime(base_config(project=compose_project))).dispatcher.dispatch(
        Invocation("ps", "U0VIEW", "C1", "slack")
    )
    (table,) = [b for b in english.blocks if isinstance(b, Table)]
    assert all(re.fullmatch(r"up \d+( ms|s|m|h|d)( \d+(s|m|h))?", row[3]) for row in table.rows), table.rows
