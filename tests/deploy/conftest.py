"""Fixtures of the deploy tests: the images, built (or found cached) once per run."""

from __future__ import annotations

import pytest
from images import Images, build_all


@pytest.fixture(scope="session")
def images() -> Images:
    return build_all()
