"""The style gates of the project run with the tests, so CI fails when they do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def tool(name: str) -> str | None:
    """The project's own copy (beside this Python, in .venv/bin) first, then PATH's."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    found = tool(args[0])
    command = [found or args[0], *args[1:]]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    if tool("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_strict_on_bot_and_handlers() -> None:
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout[-3000:]


def test_import_layers_hold() -> None:
    """The layers and forbidden imports of pyproject.toml's [tool.importlinter] (docs/architecture.md)."""
    if tool("lint-imports") is None:
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    done = run("lint-imports", "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:]


def test_import_layers_catch_core_importing_an_adapter(tmp_path: Path) -> None:
    """The contract bites: a copy of the code in which core imports the Slack adapter is refused."""
    if tool("lint-imports") is None:
        pytest.fail("import-linter is not installed: pip install -e '.[dev]'")
    for part in ("bot", "handlers"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    roles = tmp_path / "bot" / "core" / "roles.py"
    roles.write_text(roles.read_text() + "\nimport bot.slack.app  # noqa\n")
    done = subprocess.run(
        [tool("lint-imports") or "lint-imports", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout[-3000:]
    assert "bot.core.roles -> bot.slack.app" in done.stdout, done.stdout[-3000:]


def test_readme_layout_names_every_package_of_bot() -> None:
    """README's Layout section is the map: it names each package of bot/, and none that is gone."""
    import re

    layout = (REPO / "README.md").read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    packages = {p.name for p in (REPO / "bot").iterdir() if (p / "__init__.py").is_file()}
    assert set(re.findall(r"`bot/(\w+)/`", layout)) == packages
