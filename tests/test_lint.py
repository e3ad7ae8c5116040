"""The style gates of the project run with the tests, so CI fails when they do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    if shutil.which("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_strict_on_bot_and_handlers() -> None:
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout[-3000:]
