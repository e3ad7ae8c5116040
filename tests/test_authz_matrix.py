"""The authorization matrix: every registered operation × every role × typed and button paths.

An invocation is allowed exactly when the caller's role reaches `RoleResolver.required(op)`
(the declared role after ops.yml's `permissions`); otherwise it is refused with the role
message and an audit row `denied/refused`, and nothing runs. Allowed destructive steps
stop at their preview (Confirm/Cancel) and are never confirmed here; everything runs
against tests/harmless_stack.py, and the targets are compared before and after.

A new operation must add its line to SAMPLES (its declared least role and arguments that
validate); until it does, `test_every_operation_has_a_declared_role_and_a_sample` fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from confirm_flow import buttons
from harmless_stack import BACKUP, HarmlessStack, harmless_stack

from bot.core.dispatcher import Invocation
from bot.core.registry import REGISTRY, ROLE_ORDER, Operation
from bot.core.roles import rank

pytestmark = pytest.mark.timeout(120)

USERS = {None: "U0NOBODY", "viewer": "U0VIEW", "operator": "U0OPER", "admin": "U0ADMIN"}
ROLES = {"viewer": ["U0VIEW"], "operator": ["U0OPER"], "admin": ["U0ADMIN"]}
# ops.yml overrides, so the matrix checks `required()` and not only the declared roles.
PERMISSIONS = """\
permissions:
  "db backup": admin
  "contacts": operator
  "audit": operator
  "tenant show": admin
"""
SOURCES = ("slack", "button")


@dataclass(frozen=True)
class Sample:
    """The least role an operation declares, and arguments that pass its validation."""

    role: str
    args: str | Callable[[HarmlessStack], str] = ""
    preview: bool = False
    """Allowed callers must get Confirm/Cancel (the harmless stack has what its preview reads)."""


SAMPLES: dict[str, Sample] = {
    "help": Sample("viewer", "logs"),
    "status": Sample("viewer"),
    "health": Sample("viewer", "api"),
    "ps": Sample("viewer", "api"),
    "logs": Sample("viewer", "api --tail 5 --grep x --since 5m"),
    "logs --follow": Sample("operator", "api"),  # no container in the project: nothing to follow
    "logs stop": Sample("operator", "AAAAAAAAAAAA"),
    "restart": Sample("operator", "api"),  # no container in the project: refused by its preview
    "stop": Sample("operator", "api"),
    "start": Sample("operator", "api"),
    "up": Sample("operator"),
    "scale": Sample("operator", "api 2"),  # a compose stack: refused by its preview
    "metrics": Sample("viewer", "latency"),
    "diagnose": Sample("viewer", "api"),
    "diagnose post": Sample("viewer", "AAAAAAAAAAAA 1"),
    "db connections": Sample("viewer"),
    "db slow": Sample("viewer", "5"),
    "db migrate": Sample("operator", preview=True),
    "db migrate-rollback": Sample("admin", "20240101_init", preview=True),
    "db backup": Sample("operator"),
    "db backups": Sample("viewer"),
    "db restore": Sample("admin", BACKUP, preview=True),
    "cache stats": Sample("viewer"),
    "cache ping": Sample("viewer"),
    "cache flush-tenant": Sample("operator", "abc123", preview=True),
    "cache flush-all": Sample("admin", preview=True),
    "queue": Sample("viewer", "payments"),
    "queue retry": Sample("operator", "payments all"),  # Bull Board down: refused by its preview
    "tenant show": Sample("viewer", "abc123"),
    "tenant list": Sample("viewer", "abc"),
    "tenant disable": Sample("admin", "abc123", preview=True),
    "tenant enable": Sample("admin", "zz9"),  # zz9 is active: a no-op, refused before any confirmation
    "deploy history": Sample("viewer", "5"),
    "deploy rollback": Sample("admin", lambda stack: stack.commit[:12], preview=True),
    "incident declare": Sample("viewer", "sev2 checkout errors in the matrix"),
    "incident ack": Sample("viewer", "1"),
    "alerts": Sample("viewer"),
    "alerts ack": Sample("viewer", "1"),
    "alerts declare": Sample("viewer", "1"),
    "alerts silence": Sample("operator", "1 1h"),
    "silence": Sample("operator", "PaymentsFailing 2h deploy in progress"),
    "silences": Sample("viewer"),
    "pending": Sample("viewer"),
    "silence expire": Sample("operator", "0123456789abcdef"),
    "incident resolve": Sample("viewer", "1 fixed by the matrix"),
    "incident list": Sample("viewer"),
    "incident note": Sample("viewer", "1 checked the pool"),
    "incident report": Sample("viewer", "1"),
    "incident tick": Sample("viewer", "1 0"),
    "oncall": Sample("viewer"),
    "oncall set": Sample("admin", "<@U0DEVOPS|marta> devops"),
    "oncall schedule": Sample("viewer", "2w"),
    "oncall override": Sample("viewer", "<@U0DEVOPS|marta> 2h"),
    "oncall swap": Sample("viewer", "<@U0DEVOPS|marta> 2026-12-24"),
    "oncall cover": Sample("viewer", "2h"),
    "oncall answer": Sample("viewer", "1 decline"),
    "contacts": Sample("viewer"),
    "audit": Sample("admin", "3"),
    "confirm": Sample("viewer", "AAAAAAAAAAAA"),
    "approve": Sample("viewer", "AAAAAAAAAAAA"),
    "cancel": Sample("viewer", "AAAAAAAAAAAA"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, target_db_url: str, redis_prefix: str
) -> AsyncIterator[HarmlessStack]:
    workdir = tmp_path_factory.mktemp("matrix")
    async with harmless_stack(workdir, target_db_url, redis_prefix, ROLES, extra=PERMISSIONS) as built:
        yield built


def sample_text(stack: HarmlessStack, op: Operation) -> str:
    sample = SAMPLES[op.name]
    args = sample.args(stack) if callable(sample.args) else sample.args
    return f"{op.name} {args}".strip()


def test_every_operation_has_a_declared_role_and_a_sample() -> None:
    missing = sorted(op.name for op in REGISTRY if op.name not in SAMPLES)
    assert not missing, f"add these operations to SAMPLES in {Path(__file__).name}: {missing}"
    for op in REGISTRY:
        assert op.role in ROLE_ORDER
        assert op.role == SAMPLES[op.name].role, (
            f"{op.name} is declared {op.role!r}, SAMPLES says {SAMPLES[op.name].role!r}: "
            "change one of them on purpose, never by default"
        )


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", sorted(op.name for op in REGISTRY))
async def test_each_role_is_allowed_exactly_when_it_is_enough(stack: HarmlessStack, name: str) -> None:
    op = REGISTRY.get(name)
    assert op is not None and name in SAMPLES, f"no sample for {name}"
    runtime = stack.runtime
    required = runtime.deps.roles.required(op)
    text = sample_text(stack, op)
    before = await stack.snapshot()
    for role, user in USERS.items():
        assert await runtime.deps.roles.role_of(user) == role
        for source in SOURCES:
            typed = text if source == "slack" else f"/ops {text}"
            inv = Invocation(typed, user, "C0OPS", source)
            result = await runtime.dispatcher.dispatch(inv)
            rows = await audit_rows(stack, inv.request_id)
            where = f"{source} `{typed}` as {role or 'no role'} (needs {required}): {result.summary!r}"
            assert rows, f"no audit row for {where}"
            if rank(role) >= rank(required):
                assert "role; you have" not in result.summary, where
                assert "inside the bot (error id" not in result.summary, where
                assert all(r["decision"] not in ("denied", "invalid", "unknown") for r in rows), (where, rows)
                if op.destructive != "none":
                    offered = [b.label for b in buttons(result)]
                    if SAMPLES[name].preview:
                        assert offered == ["Confirm", "Cancel"], where
                    else:
                        assert offered == ["Confirm", "Cancel"] or not result.ok, where
            else:
                assert not result.ok and not buttons(result), where
                needed = runtime.dispatcher.t(f"role.{required}")
                assert f"needs the *{needed}* role" in result.summary, where
                assert [(r["operation"], r["decision"], r["outcome"], r["source"]) for r in rows] == [
                    (name, "denied", "refused", source)
                ], where
    after = await stack.snapshot()
    if name == "db backup":  # its job is to add a backup file; every other target stays as it was
        assert set(after.backups) > set(before.backups)
        after.backups = before.backups
    assert after == before, f"{name} changed a target"


async def audit_rows(stack: HarmlessStack, request_id: str) -> list[dict[str, str]]:
    async with stack.runtime.deps.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT operation, decision, outcome, source FROM audit_log WHERE request_id = $1 ORDER BY id", request_id
        )
    return [dict(r) for r in rows]
