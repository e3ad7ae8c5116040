"""A diagnose remedy's verdict is judged only by what happened after the remedy (issue 24, item 4).

`diagnose payments` counts webhook lines of the last 15 minutes; after `restart api` from it,
the re-check reads only the lines written since the restart began, so errors from before the
restart are not blamed on it. Real parts: the test's own busybox api container, which writes
failing webhook lines on its first start and healthy ones (or none) after a restart.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import RuntimeFactory
from targets import HttpTarget
from test_verify_containers import Stack, stack
from test_verify_diagnose import bot, health_api, press, remedy, verification_of

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.terminal import render_text

__all__ = ["health_api", "stack"]  # fixtures

FINDING = "diagnose payments: webhooks in api logs (last 15 min)"


def api_script(after_restart: str) -> str:
    """Failing webhooks on the first start; `after_restart` on the next ones (the marker survives
    `docker restart`, which keeps the container's filesystem)."""
    first = "for i in 1 2 3 4 5 6; do echo 'webhook received payment: error signature failed'; done"
    return (
        "trap 'exit 0' TERM; "
        f"if [ -f /tmp/started ]; then {after_restart}; else touch /tmp/started; {first}; fi; "
        "while :; do sleep 0.2; done"
    )


async def audit_verification(runtime: Runtime) -> tuple[str, dict[str, Any]]:
    async with runtime.deps.db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT detail, verification FROM audit_log WHERE operation = 'restart' AND decision = 'executed'"
            " ORDER BY id DESC LIMIT 1"
        )
    raw = row["verification"]
    return row["detail"] or "", json.loads(raw) if isinstance(raw, str) else raw


async def test_webhook_errors_from_before_the_restart_do_not_fail_its_verdict(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    good = "for i in 1 2 3; do echo 'webhook received payment ok'; done"
    stack.add("api", api_script(good))
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "after")
    found = await runtime.dispatcher.dispatch(Invocation("diagnose payments", "U0OPER", "C1", "slack"))
    assert "webhooks in api logs" in found.summary, render_text(found).text
    done = await press(runtime, remedy(found, "/ops restart api"))
    verification = verification_of(done)
    recheck = next(c for c in verification.checks if c.name == FINDING)
    assert recheck.state == "ok" and recheck.detail.startswith("gone (was fail: 6 webhook lines"), recheck
    assert "3 webhook lines" in recheck.detail, recheck  # only the lines written since the restart
    assert verification.verified and done.ok, render_text(done).text
    detail, recorded = await audit_verification(runtime)
    assert recorded["verified"] is True and "not verified" not in detail
    assert any(c["name"] == FINDING and c["state"] == "ok" for c in recorded["checks"])


async def test_a_finding_with_nothing_written_since_the_restart_is_not_yet_judged(
    make_runtime: RuntimeFactory, stack: Stack, health_api: HttpTarget, redis_prefix: str
) -> None:
    stack.add("api", api_script(":"))
    runtime = await bot(make_runtime, stack, health_api, redis_prefix, "unseen")
    found = await runtime.dispatcher.dispatch(Invocation("diagnose payments", "U0OPER", "C1", "slack"))
    done = await press(runtime, remedy(found, "/ops restart api"))
    verification = verification_of(done)
    assert all(c.name != FINDING for c in verification.checks), verification  # no verdict from old lines
    assert verification.verified and done.ok, render_text(done).text
    shown = render_text(done).text
    assert "Not seen again yet" in shown and FINDING in shown and "/ops diagnose payments" in shown
    detail, recorded = await audit_verification(runtime)
    assert "Not seen again yet" in detail and recorded["verified"] is True
