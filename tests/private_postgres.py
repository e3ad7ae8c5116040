"""A real Postgres server of one's own, on a free port, with settings the shared one lacks
(e.g. shared_preload_libraries = pg_stat_statements, which needs a server start).

initdb + start take under a second here. As root, the server runs as the `postgres` user
(Postgres refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from targets import free_port


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@dataclass
class PrivatePostgres:
    port: int
    home: Path
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                _as_server_user(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.home / "data"), "-m", "immediate", "stop"]
                ),
                capture_output=True,
                timeout=20,
            )
        shutil.rmtree(self.home, ignore_errors=True)


def start_private_postgres(**settings: str) -> PrivatePostgres | None:
    """A started server with `settings` (`-c name=value`), or None when this machine cannot make one."""
    bindir = _bindir()
    if bindir is None:
        return None
    home = Path(tempfile.mkdtemp(prefix="ops-private-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = free_port()
    options = [f"-p {port}", f"-k {home}", "-c listen_addresses=127.0.0.1", "-c fsync=off"]
    options += [f"-c {name}={value}" for name, value in settings.items()]
    try:
        subprocess.run(
            _as_server_user(
                [str(bindir / "initdb"), "-D", str(home / "data"), "-A", "trust", "-U", "postgres", "--no-sync"]
            ),
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(home / "data"),
                    "-o",
                    " ".join(options),
                    "-w",
                    "-l",
                    str(home / "log"),
                    "start",
                ]
            ),
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError, KeyError, LookupError):
        shutil.rmtree(home, ignore_errors=True)
        return None
    return PrivatePostgres(port, home, bindir)
