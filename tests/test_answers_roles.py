"""Role refusals say who holds the role (names from ops.yml's contact table), and diagnose hands
a viewer no remedy button they cannot run: the real dispatcher, real containers and Redis."""

from __future__ import annotations

import subprocess

from conftest import REDIS_URL, RuntimeFactory, base_config

from bot.core.dispatcher import Invocation
from bot.output.results import Buttons, Result, Text

# Marta (devops) is an operator, Ana (tech lead) an admin, Jorge (CTO) only a viewer.
ROLES = {"viewer": ["*"], "operator": ["U0DEVOPS", "U0OPER"], "admin": ["U0TECHLEAD", "U0ADMIN"]}


def texts(result: Result) -> str:
    return "\n".join(b.text for b in result.blocks if isinstance(b, Text))


def started_at(container: str) -> str:
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True, text=True)
    return out.stdout.strip()


async def test_a_refusal_names_who_holds_the_role_and_runs_nothing(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project, roles=ROLES))
    before = started_at(f"{compose_project}-redis-1")
    result = await runtime.dispatcher.dispatch(Invocation("restart redis", "U0CTO", "C1", "slack"))
    assert not result.ok
    assert "needs the *operator* role; you have *viewer*" in result.summary
    assert "Who holds it: Ana Rojas, Marta Gil." in result.summary, result.summary
    assert "Jorge" not in result.summary and "Confirm" not in repr(result)
    assert started_at(f"{compose_project}-redis-1") == before, "nothing was restarted"


async def test_a_role_no_contact_holds_points_at_the_config(make_runtime: RuntimeFactory) -> None:
    roles = {"viewer": ["*"], "operator": ["U0DEVOPS"], "admin": ["U0ADMIN"]}
    runtime = await make_runtime(base_config(roles=roles, locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation("audit", "U0DEVOPS", "C1", "slack"))
    assert "requiere el rol" in result.summary
    assert "Nadie de la tabla de contactos lo tiene; se asigna en ops.yml `roles.admin`." in result.summary


async def test_diagnose_offers_a_viewer_no_button_they_cannot_run(
    make_runtime: RuntimeFactory, compose_project: str
) -> None:
    runtime = await make_runtime(base_config(project=compose_project, roles=ROLES, target_redis=REDIS_URL))
    viewer = await runtime.dispatcher.dispatch(Invocation("diagnose redis", "U0CTO", "C1", "slack"))
    commands = [b.command for block in viewer.blocks if isinstance(block, Buttons) for b in block.buttons]
    assert "/ops cache stats" in commands
    assert "/ops restart redis" not in commands
    assert "Not offered, they need the *operator* role (Ana Rojas, Marta Gil): Restart redis" in texts(viewer)
    operator = await runtime.dispatcher.dispatch(Invocation("diagnose redis", "U0DEVOPS", "C1", "slack"))
    commands = [b.command for block in operator.blocks if isinstance(block, Buttons) for b in block.buttons]
    assert "/ops restart redis" in commands and "/ops cache stats" in commands
    assert "Not offered" not in texts(operator)
