"""A Docker socket the bot's user may not open is a permission problem with a fix, not an engine
that is "unreachable": the image runs as uid 10001, which needs the socket's group.

The check runs in a process of its own without the capability that lets root ignore file modes
(`setpriv`), against a real listening unix socket owned by another user with mode 600.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OWNER = 65534  # nobody owns the socket
DROP = "-dac_override,-dac_read_search"

CHECK = """
import asyncio, sys
from bot.config.ops_yml import DockerConfig
from bot.targets.docker import DockerTarget
from bot.text.errors import TargetError
from bot.text.messages import Catalog

async def main() -> None:
    target = DockerTarget(DockerConfig(url=sys.argv[1], compose_project="p", services=["api"]), timeout=5)
    try:
        await target.containers()
    except TargetError as exc:
        print(Catalog(sys.argv[2]).text(exc.detail))

asyncio.run(main())
"""


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short path (a unix socket's is limited to 107 bytes), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ops-bot-sock-"))
    try:
        yield path
    finally:
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


def said_without_override(url: str, locale: str = "en") -> str:
    done = subprocess.run(
        ["setpriv", "--bounding-set", DROP, "--inh-caps", DROP, "--", sys.executable, "-c", CHECK, url, locale],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own the socket as another user")
def test_a_socket_the_user_may_not_open_says_permission_denied_and_the_fix(socket_dir: Path) -> None:
    path = socket_dir / "docker.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        os.chown(path, OWNER, OWNER)
        path.chmod(0o600)  # as /var/run/docker.sock (root:docker 660) is to a user outside the group
        said = said_without_override(f"unix://{path}")
        said_es = said_without_override(f"unix://{path}", "es")
    assert "permission denied" in said and "unreachable" not in said, said
    assert "uid 0" in said and "group" in said and "DOCKER_GID" in said
    assert "permiso denegado" in said_es


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own the socket as another user")
def test_a_missing_socket_is_still_unreachable(socket_dir: Path) -> None:
    said = said_without_override(f"unix://{socket_dir / 'absent.sock'}")
    assert "Docker engine unreachable" in said and "permission" not in said, said
