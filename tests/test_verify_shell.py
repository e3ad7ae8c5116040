"""The verification in the terminal: the real `ops-bot shell` driven through a pty.

`/ops restart api`, choice 1 (Confirm), and the shell prints the same verdict as Slack gets:
"✅ verified" with what it observed, under the step's outcome.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from botproc import bot_env
from conftest import base_config
from test_verify_containers import Stack, stack

__all__ = ["stack"]  # the fixture of tests/test_verify_containers.py

HEALTHY = "rm -f /tmp/ok; sleep 1; touch /tmp/ok; exec sleep 3600"
HEALTH = ["--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1"]


class Pty:
    """A child process on a pseudo-terminal: write lines, read until a text shows."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
        os.close(slave)
        self.seen = ""

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def until(self, text: str, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never showed; the terminal had:\n{self.seen[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        return self.seen

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_a_restart_in_the_shell_ends_with_its_verification(
    stack: Stack, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    name = stack.add("api", HEALTHY, *HEALTH)
    before = stack.started_at(name)
    config = write_config(base_config(project=stack.project))
    env = bot_env(config, "http://127.0.0.1:9/api/", bot_db_url, extra={"REDIS_PREFIX": redis_prefix})
    shell = Pty([sys.executable, "-m", "bot.cli", "shell", "--as", "U0OPER"], dict(env), tmp_path)
    try:
        shell.until("ops-bot shell as U0OPER")
        shell.send("/ops restart api")
        shell.until("Confirm")
        shell.send("1")
        seen = shell.until("verified")
        shell.until(f"{name} health check")
        seen = shell.until("bound 60 s")
        shell.send("exit")
    finally:
        shell.close()
    assert stack.started_at(name) != before
    tail = seen[seen.index("verified") - 2 :]
    assert tail.startswith("✅ verified"), tail
    assert f"[ok]      {name} running again: running, started" in tail, tail
    assert f"[ok]      {name} health check: healthy" in tail, tail
