"""The demo is part of the product: `bash scripts/demo.sh`, driven as a newcomer would type,
runs every command of docs/commands.md without an error, as two people (a second terminal
joins and approves the critical steps), prints the pages it sends, and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PROMPTS = (
    re.compile(r"/ops> $"),
    re.compile(r"Choose a number \(Enter to skip\): $"),
    re.compile(r"What is happening\? $"),
)
SLACK_LINE = re.compile(r"\[slack\][^\n]*\n")
ERRORS = ("Something went wrong", "Traceback", "Unknown", "There is no command", "Usage:", "I could not read", "ERROR")

pytestmark = pytest.mark.skipif(
    not (REPO / ".venv" / "bin" / "python").exists() or shutil.which("docker") is None,
    reason="needs scripts/setup.sh to have run (.venv) and Docker",
)


class DemoTerminal:
    """One `bash scripts/demo.sh` on pipes: type a line, read until the next prompt."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["bash", "scripts/demo.sh", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._text = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            with self._lock:
                self._text += chunk.decode(errors="replace")

    @property
    def text(self) -> str:
        with self._lock:
            return self._text

    def wait_prompt(self, start: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.text[start:]
            if any(p.search(SLACK_LINE.sub("", out)) for p in PROMPTS):  # pages may come after a prompt
                return out
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"the demo exited ({self.proc.returncode}):\n{self.text[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"no prompt within {timeout} s:\n{self.text[-3000:]}")

    def type(self, line: str, timeout: float = 60) -> str:
        start = len(self.text)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.wait_prompt(start, timeout)

    def close(self, timeout: float = 60) -> int:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _no_error(command: str, answer: str) -> None:
    for word in ERRORS:
        assert word not in answer, f"{command!r} answered with {word!r}:\n{answer}"


def _psql(sql: str) -> str:
    done = subprocess.run(["psql", PG_ADMIN, "-Atc", sql], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def _leftovers(project: str, tag: str, work: str) -> list[str]:
    left = []
    containers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, timeout=30,
    ).stdout.split()  # fmt: skip
    if containers:
        left.append(f"containers {containers}")
    databases = _psql(f"SELECT datname FROM pg_database WHERE datname LIKE '%{tag}'").split()
    if databases:
        left.append(f"databases {databases}")
    procs = subprocess.run(["pgrep", "-af", work], capture_output=True, text=True).stdout.strip()
    if procs:
        left.append(f"processes {procs}")
    if Path(work).exists():
        left.append(f"folder {work}")
    return left


def _reference() -> list[str]:
    """The usage lines of docs/commands.md, e.g. `db restore <backup>`; the answers to a button
    (confirm, cancel, approve, logs stop) are their own section, pressed as numbered choices here."""
    text = (REPO / "docs" / "commands.md").read_text(encoding="utf-8").split("\n## Answers to a button")[0]
    rows = re.findall(r"^\| `/ops ([^`]*)`", text, re.M)
    assert len(rows) > 30, "docs/commands.md has no command table"
    return rows


def _literal(usage: str) -> list[str]:
    words = []
    for word in usage.split():
        if word[0] in "<[-":
            break
        words.append(word)
    return words


def _row_of(command: str, rows: list[str]) -> str | None:
    """The reference row a typed command is an instance of: the longest literal prefix, and
    `--follow` only with `--follow` (None for the buttons' hidden commands: approve, confirm)."""
    typed = command.removeprefix("/ops ").split()
    fits = [
        r for r in rows
        if typed[: len(_literal(r))] == _literal(r) and (("--follow" in r) == ("--follow" in typed))
    ]  # fmt: skip
    if not fits:
        return None
    return max(fits, key=lambda r: len(_literal(r)))


def test_the_demo_runs_every_command_as_two_admins_and_leaves_nothing(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_"))}
    env.update({"OPS_DEMO_STATE": str(state), "OPS_LOCALE": "en"})
    first = DemoTerminal([], env)
    second: DemoTerminal | None = None
    ran: set[str] = set()
    rows = _reference()
    try:
        banner = first.wait_prompt(0, timeout=120)
        to_prompt = time.monotonic() - first.started
        assert "You are U0DEVOPS (admin)" in banner
        demo = json.loads(state.read_text())
        project, work, tag = demo["project"], demo["work"], demo["project"].removeprefix("opsbotdemo")

        def run(command: str, *answers: str, expect: str = "", who: DemoTerminal | None = None) -> str:
            term = who or first
            out = term.type(command)
            for answer in answers:
                out += term.type(answer)
            while PROMPTS[1].search(SLACK_LINE.sub("", out)[-200:]):  # buttons left unpressed: skip them, as Enter does
                out += term.type("")
            _no_error(command, out)
            assert expect in out, f"{command!r}: expected {expect!r} in:\n{out}"
            row = _row_of(command, rows)
            if row is not None:
                ran.add(row)
            return out

        run("/ops help", expect="/ops status")
        run("/ops status", expect="checks pass")
        run("/ops health", expect="HTTP 200")
        run("/ops ps", expect="api")
        run("/ops logs api --tail 5", expect="GET /orders")
        run("/ops logs api --follow 3s")
        run("/ops metrics", expect="p95")
        run("/ops diagnose redis")
        run("/ops queue", expect="payments")
        run("/ops queue retry payments all", "1")
        run("/ops cache ping", expect="PONG")
        run("/ops cache stats")
        run("/ops cache flush-tenant xyz789", "1")
        run("/ops tenant list", expect="Mercado XYZ")
        run("/ops tenant show abc123", expect="Tienda ABC")
        run("/ops tenant disable abc123", "1")
        run("/ops tenant enable abc123", "1")
        run("/ops contacts", expect="Ana Rojas")
        run("/ops oncall", expect="Marta Gil")
        run("/ops oncall schedule 2d", expect="Pablo Soto")  # the demo rota hands off to Pablo minutes in
        run("/ops oncall override <@U0DEVOPS> 1h", expect="is on call for devops")
        run("/ops oncall cover 30m", expect="Asked 1 person")
        tomorrow = (datetime.now(ZoneInfo("America/Santiago")) + timedelta(days=1, minutes=5)).date()
        run(f"/ops oncall swap <@U0DEVOPS2> {tomorrow}", expect="Asked")
        run("/ops db connections")
        run("/ops db slow")
        run("/ops db backups", expect="pedidos_")
        run("/ops db backup", expect="pedidos_")
        run("/ops db migrate", "1", expect="1 step done in")
        run("/ops db migrate-rollback 20250102_add_refunds", "1", expect="1 step done in")
        run("/ops restart api", "1")
        run("/ops stop redis", "1")
        run("/ops start redis")
        run("/ops up")
        run("/ops scale api 2", expect="needs a Swarm stack")  # the demo is a compose stack: refused, nothing asked
        history = run("/ops deploy history", expect="Cache tenant settings")
        declared = run("/ops incident declare", "1", "Checkout is failing", expect="INC-")
        ref = re.search(r"INC-\d+", declared)
        assert ref is not None
        run("/ops incident list", expect=ref.group(0))
        run(f"/ops incident note {ref.group(0)} Payments provider answers 502", expect="Added to the timeline")
        run("/ops incident ack")
        run("/ops incident report", expect=ref.group(0))
        run("/ops oncall set <@U0TECHLEAD> devops")
        run(
            "/ops alerts", expect="Firing alerts"
        )  # the demo's rule fires about a minute in (test_demo_alerts_and_join)
        run("/ops silence PaymentsFailing 1h demo", expect="alertname=PaymentsFailing")
        run("/ops silences", expect="alertname=PaymentsFailing")
        run("/ops pending", expect="Nothing waits for you")

        # the critical steps wait for a second admin, who joins from a second terminal
        second = DemoTerminal(["--as", "U0TECHLEAD"], env)
        joined = second.wait_prompt(0, timeout=90)
        assert "Joined the running demo" in joined and "U0TECHLEAD (admin)" in joined
        backup = re.search(r"pedidos_\d{8}_\d{6}\.sql\.gz", run("/ops db backups"))
        commit = re.search(r"^([0-9a-f]{7,12})\s.*Cache tenant settings", history, re.M)
        assert backup is not None and commit is not None
        restore, rollback = f"/ops db restore {backup.group(0)}", f"/ops deploy rollback {commit.group(1)}"
        for critical in (restore, "/ops cache flush-all", rollback):
            waiting = run(critical, "1", expect="awaiting a second admin")
            approve = re.search(r"/ops approve \S+", waiting)
            assert approve is not None, waiting
            run(approve.group(0), who=second)
        run("/ops deploy history 5", expect='Revert "Cache tenant settings"', who=second)
        run(f"/ops incident resolve {ref.group(0)} Fixed by the rollback", expect=ref.group(0))
        run("/ops audit", expect="db restore")

        missing = set(rows) - ran
        assert not missing, f"commands of docs/commands.md the demo test does not run: {sorted(missing)}"
        pages = first.text
        assert "[slack] DM @U0DEVOPS" in pages and "[slack] #C0INCIDENTS" in pages

        assert second.close() == 0
        run("/ops status", expect="checks pass")  # the second terminal leaving removed nothing of the first's
    finally:
        if second is not None:
            second.close()
        code = first.close()
    assert code == 0
    assert _leftovers(project, tag, work) == []
    assert not state.exists()
    print(f"demo reached its prompt in {to_prompt:.1f} s")


def test_a_demo_killed_by_ctrl_c_or_kill_9_leaves_nothing_and_speaks_the_chosen_language(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_"))}
    env["OPS_DEMO_STATE"] = str(state)
    crashed = DemoTerminal([], env)
    crashed.wait_prompt(0, timeout=120)
    old = json.loads(state.read_text())
    os.kill(crashed.proc.pid, signal.SIGKILL)  # demo.py itself (demo.sh execs it): no cleanup of its own
    crashed.close()

    spanish = DemoTerminal([], {**env, "OPS_LOCALE": "es", "OPS_DEMO_USER": "U0BACKEND"})
    try:
        banner = spanish.wait_prompt(0, timeout=120)
        assert "Eres U0BACKEND (operator)" in banner  # the bot's own word for the role, as the shell says it
        assert (
            "ops-bot shell como U0BACKEND (operator). Escribe" in banner
        )  # the bot names roles as they are in ops.yml
        # the next demo swept the killed one's containers, databases, processes and folder
        assert _leftovers(old["project"], old["project"].removeprefix("opsbotdemo"), old["work"]) == []
        new = json.loads(state.read_text())
        assert "Algo salió mal" not in spanish.type("/ops status")
        os.killpg(spanish.proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
        assert spanish.proc.wait(60) != 0
    finally:
        spanish.close()
    assert _leftovers(new["project"], new["project"].removeprefix("opsbotdemo"), new["work"]) == []
    assert not state.exists()
