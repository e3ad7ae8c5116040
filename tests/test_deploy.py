"""Deploy history and rollback on a real git repository made by the test, with a real Makefile:
only commits of the history are accepted, and a failing build stops before deploy."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confirm_flow import buttons, run_confirmed
from conftest import RuntimeFactory
from targets import HttpTarget, delayed, start_http_target
from test_steps import attachment, everything, steps_config

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Result

MAKEFILE = """\
.PHONY: build deploy
build:
\t@echo building from $$(cat app.txt)
\tcp app.txt build.out
deploy:
\tcp build.out deployed.txt
"""


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=10)
    return out.stdout.strip()


@dataclass
class Repo:
    path: Path
    first: str
    second: str
    side: str


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """Two commits on main (v1, then v2) and one on a side branch that main does not contain."""
    path = tmp_path / "pedidos"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "user.email", "dev@example.com")
    (path / "Makefile").write_text(MAKEFILE)
    (path / ".gitignore").write_text("build.out\ndeployed.txt\n*.marker\n")
    (path / "app.txt").write_text("v1\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "First version")
    first = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-b", "side")
    (path / "side.txt").write_text("side\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "Side work")
    side = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "main")
    (path / "app.txt").write_text("v2\n")
    git(path, "commit", "-q", "-am", "Second version, broken")
    second = git(path, "rev-parse", "HEAD")
    return Repo(path, first, second, side)


@pytest.fixture
async def health_api() -> AsyncIterator[HttpTarget]:
    target = await start_http_target({"/health": delayed(0)})
    yield target
    await target.close()


async def bot(
    make_runtime: RuntimeFactory, project: str, repo: Repo, api: HttpTarget, prefix: str, build: str = "make build"
) -> Runtime:
    steps = f'    build: {{cwd: {repo.path}, run: "{build}"}}\n    deploy: {{cwd: {repo.path}, run: "make deploy"}}\n'
    text = steps_config(project, steps, api_url=api.url).replace("  docker:\n", f"  repo: {repo.path}\n  docker:\n", 1)
    return await make_runtime(text, redis_prefix=prefix)


@pytest.fixture
def prefix(redis_prefix: str, request: pytest.FixtureRequest) -> str:
    return f"{redis_prefix}{request.node.name[:40]}:"


async def run(runtime: Runtime, text: str, user: str = "U0ADMIN") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


async def test_history_lists_the_commits_of_the_checkout(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    result = await run(runtime, "deploy history 5", user="U0VIEW")
    assert result.ok, result.summary
    text = everything(result)
    assert "The last 2 commits of main" in result.summary
    assert repo.second[:7] in text and "Second version, broken" in text and "First version" in text
    assert "Side work" not in text


async def test_rollback_reverts_builds_deploys_and_checks_health(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    done = await run_confirmed(runtime, f"deploy rollback {repo.second[:8]}", "U0ADMIN", approver="U0ADMIN2")
    assert done.ok, done.summary
    assert (repo.path / "deployed.txt").read_text() == "v1\n"
    assert git(repo.path, "log", "-1", "--format=%s") == 'Revert "Second version, broken"'
    assert "building from v1" in attachment(done)
    assert "All 4 steps done" in done.summary


async def test_a_failing_build_stops_the_rollback_before_deploy(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix, build="false")
    done = await run_confirmed(runtime, f"deploy rollback {repo.second}", "U0ADMIN", approver="U0ADMIN2")
    assert not done.ok
    assert "Stopped at step 2 of 4" in done.summary
    assert not (repo.path / "deployed.txt").exists(), "deploy ran after a failed build"
    text = everything(done)
    assert "nothing was deployed" in text and "not run" in text


async def test_a_conflicting_revert_is_aborted_and_nothing_is_built(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str
) -> None:
    (repo.path / "app.txt").write_text("v3\n")
    git(repo.path, "commit", "-q", "-am", "Third version")  # reverting "Second" now conflicts
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    done = await run_confirmed(runtime, f"deploy rollback {repo.second}", "U0ADMIN", approver="U0ADMIN2")
    assert not done.ok and "Stopped at step 1 of 4" in done.summary
    assert git(repo.path, "status", "--porcelain") == ""  # revert --abort put the checkout back
    assert not (repo.path / "build.out").exists()


@pytest.mark.parametrize("commit", ["deadbeef", "side"])
async def test_a_commit_outside_the_history_is_refused(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str, commit: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    sha = repo.side if commit == "side" else commit
    result = await run(runtime, f"deploy rollback {sha}")
    assert not result.ok and "is not in the history" in result.summary
    assert not buttons(result)


@pytest.mark.parametrize("commit", ["HEAD~1", "--help", "main", "abc", "g123456"])
async def test_anything_but_a_hex_hash_is_refused(
    make_runtime: RuntimeFactory, compose_project: str, repo: Repo, health_api: HttpTarget, prefix: str, commit: str
) -> None:
    runtime = await bot(make_runtime, compose_project, repo, health_api, prefix)
    result = await run(runtime, f"deploy rollback {commit}")
    assert not result.ok
    assert not buttons(result)
    assert git(repo.path, "rev-parse", "HEAD") == repo.second
