"""Small things a newcomer tripped over (issue 24, item 12), each against the real parts."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from botproc import REPO
from confirm_flow import run_confirmed
from conftest import RuntimeFactory, base_config
from targets import HttpTarget
from test_deploy import Repo, health_api, prefix, repo
from test_deploy import bot as deploy_bot
from test_diagnose import OPERATOR, ask, commands, findings
from test_diagnose import config as diagnose_config
from test_queues import Board
from test_queues import board as bull_board
from test_steps import makefile, steps_config

from bot.core.dispatcher import Invocation
from bot.incidents.report import exact
from bot.output.terminal import render_text
from bot.text.messages import Catalog

__all__ = ["bull_board", "health_api", "prefix", "repo"]  # fixtures: the real Bull Board, a deploy repo

POLICY = "escalation:\n  sev1:\n    - {notify: devops, on_call: true}\n  sev2:\n    - {notify: tech_lead}\n"


def test_a_time_under_a_minute_is_said_once_and_a_longer_one_exactly_too() -> None:
    t = Catalog()
    assert exact(timedelta(seconds=9), t) == "9s"
    assert exact(timedelta(seconds=245), t).endswith("(245 s)")


def test_the_last_lines_heading_names_its_zone_without_nested_brackets() -> None:
    heading = Catalog()("report.last_lines", count=7, tz="America/Santiago (UTC−03:00)")
    assert heading == "Last 7 lines, times in America/Santiago (UTC−03:00):"


async def test_a_spanish_verb_suggests_the_command_and_a_poor_match_suggests_nothing(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = await make_runtime(base_config())
    spanish = await runtime.dispatcher.dispatch(Invocation("reinicia api", "U0OPER", "C1", "slack"))
    assert "Did you mean `/ops restart api`?" in spanish.summary, spanish.summary
    assert "incident ack" not in spanish.summary
    odd = await runtime.dispatcher.dispatch(Invocation("frobnicate api", "U0OPER", "C1", "slack"))
    assert "Did you mean" not in odd.summary, odd.summary
    typo = await runtime.dispatcher.dispatch(Invocation("stauts", "U0OPER", "C1", "slack"))
    assert "Did you mean `/ops status`" in typo.summary


async def test_a_severity_after_the_title_is_answered_with_where_it_goes(
    make_runtime: RuntimeFactory, fresh_db_url: str
) -> None:
    runtime = await make_runtime(base_config(extra=POLICY), database_url=fresh_db_url)
    result = await runtime.dispatcher.dispatch(Invocation("incident declare DB is down sev1", "U0OPER", "C1", "slack"))
    assert not result.ok
    assert "The severity goes first, before the title: `/ops incident declare sev1 DB is down`." in result.summary
    async with runtime.deps.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incidents") == 0, "nothing was declared"


async def test_diagnose_payments_offers_no_retry_when_no_job_failed(
    make_runtime: RuntimeFactory,
    compose_project: str,
    redis_prefix: str,
    bull_board: Board,
) -> None:
    await bull_board.add_jobs(count=2, fail=False)
    runtime = await make_runtime(
        diagnose_config(compose_project, board_url=bull_board.url), redis_prefix=f"{redis_prefix}no-retry:"
    )
    result = await ask(runtime, "diagnose payments", OPERATOR)
    assert findings(result)["failed jobs in payments"].state == "ok", findings(result)
    assert "/ops queue retry payments all" not in commands(result), commands(result)
    assert "/ops restart api" in commands(result)


async def test_the_steps_a_failed_rollback_never_ran_are_not_run_not_failed(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    runtime = await deploy_bot(make_runtime, compose_project, repo, health_api, prefix, build="false")
    done = await run_confirmed(runtime, f"deploy rollback {repo.second}", "U0ADMIN", approver="U0ADMIN2")
    assert not done.ok
    steps = [line for line in render_text(done).text.splitlines() if "step: " in line]
    assert any(line.strip().startswith("[FAIL]") and "build" in line.lower() for line in steps), steps
    never = [line for line in steps if "earlier step failed" in line]
    assert never and all(line.strip().startswith("[not run]") for line in never), steps


def test_the_demo_names_roles_with_the_bots_own_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Spanish demo said "Eres U0BACKEND (operador)", then the shell "(operator)"."""
    spec = importlib.util.spec_from_file_location("demo_script", REPO / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    monkeypatch.setenv("OPS_LOCALE", "es")
    t = Catalog("es")
    assert demo.role_of("U0BACKEND") == t("role.operator")
    assert demo.role_of("U0DEVOPS") == t("role.admin")
    assert demo.role_of("U0SOMEONE") == t("role.viewer")


async def test_setting_the_on_call_to_who_already_is_says_so_and_announces_nothing(
    make_runtime: RuntimeFactory, fresh_db_url: str
) -> None:
    runtime = await make_runtime(base_config(extra=POLICY), database_url=fresh_db_url)
    result = await runtime.dispatcher.dispatch(Invocation("oncall set U0DEVOPS devops", "U0ADMIN", "C1", "slack"))
    assert "U0DEVOPS is already on call as devops: nothing changed, nothing announced." in result.summary, result
    async with runtime.deps.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM oncall") == 0
    other = await runtime.dispatcher.dispatch(Invocation("oncall set U0TECHLEAD devops", "U0ADMIN", "C1", "slack"))
    assert "already" not in other.summary and "U0TECHLEAD" in other.summary, other.summary


def migrate_with_status(project: str, work: Path, status: str, timeout: str = "10s") -> str:
    makefile(work, {"migrate": "touch migrated", "status": status})
    steps = (
        f"    migrate: {{cwd: {work}, run: make -s migrate, timeout: 60s}}\n"
        f"    migrate_status: {{cwd: {work}, run: make -s status, timeout: {timeout}}}\n"
    )
    return steps_config(project, steps)


async def test_the_migrate_preview_lists_what_the_status_step_says_is_pending(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path
) -> None:
    status = "echo 'Following migration have not yet been applied:'\necho 20250102_add_refunds\nexit 1"
    runtime = await make_runtime(migrate_with_status(compose_project, tmp_path, status))
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    shown = render_text(preview).text
    assert "What is pending, as migrate_status: `make -s status`" in shown, shown
    assert "20250102_add_refunds" in shown
    assert "did not end cleanly" in shown and "Confirm" in shown, shown  # prisma exits 1 when something is pending
    assert not (tmp_path / "migrated").exists(), "the preview migrated nothing"


async def test_a_status_step_that_hangs_is_cut_and_said_unknown(
    make_runtime: RuntimeFactory, compose_project: str, tmp_path: Path
) -> None:
    runtime = await make_runtime(migrate_with_status(compose_project, tmp_path, "sleep 20", timeout="1s"))
    preview = await runtime.dispatcher.dispatch(Invocation("db migrate", "U0OPER", "C1", "slack"))
    shown = render_text(preview).text
    assert "The status step did not end cleanly" in shown and "may be unknown" in shown, shown
    assert "Confirm" in shown
