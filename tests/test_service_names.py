"""Service names are matched in any case (phones capitalise the first letter): `/ops restart API`
runs on the configured `api`, typed or through the confirmation's button (issue 24, item 1)."""

from __future__ import annotations

from confirm_flow import click
from conftest import RuntimeFactory, base_config
from test_verify_containers import HEALTHY_AFTER_A_SECOND, Stack, health, stack  # noqa: F401  (fixture)

from bot.core.dispatcher import Invocation
from bot.output.results import Table


async def test_a_capitalised_service_is_the_configured_one(make_runtime: RuntimeFactory, compose_project: str) -> None:
    runtime = await make_runtime(base_config(project=compose_project))
    result = await runtime.dispatcher.dispatch(Invocation("ps API", "U0VIEW", "C1", "slack"))
    (table,) = [b for b in result.blocks if isinstance(b, Table)]
    assert [row[0] for row in table.rows] == ["api"], result


async def test_a_name_that_differs_by_more_than_case_is_still_unknown(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    result = await runtime.dispatcher.dispatch(Invocation("ps APIS", "U0VIEW", "C1", "slack"))
    assert not result.ok and "unknown service" in result.summary.lower() + str(result.blocks).lower()


async def test_restart_typed_in_capitals_restarts_the_service_through_its_button(
    make_runtime: RuntimeFactory,
    stack: Stack,  # noqa: F811
) -> None:
    name = stack.add("api", HEALTHY_AFTER_A_SECOND, *health("test -f /tmp/ok"))
    before = stack.started_at(name)
    runtime = await make_runtime(base_config(project=stack.project))
    preview = await runtime.dispatcher.dispatch(Invocation("restart API", "U0OPER", "C1", "slack"))
    assert "unknown service" not in str(preview.blocks).lower() + preview.summary.lower(), preview
    done = await click(runtime, preview, "confirm", "U0OPER")
    assert done.ok, done
    assert stack.started_at(name) != before, "the configured `api` container really was restarted"
