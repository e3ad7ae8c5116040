"""`ops-bot shell` as a person meets it: the real subprocess on a pseudo-terminal it owns as its
controlling terminal, so prompt_toolkit edits lines, the Up arrow recalls, a typed Ctrl-C is
the kernel's SIGINT to the shell and Ctrl-D is the end of input, exactly as at 3 AM.

The terminal is driven with the standard library (pty, termios): pexpect is not a dependency.
What the shell prints is read with its escape sequences removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botproc import REPO, bot_env
from conftest import base_config
from test_step_lifecycle import migrate_config

pytestmark = pytest.mark.timeout(120)

OPERATOR = "U0OPER"
ADMIN = "U0ADMIN"
NO_SLACK = "http://127.0.0.1:9/api/"  # the shell never talks to Slack
PROMPT = "/ops>"
CHOOSE = "Choose a number (Enter to skip):"
UP = "\x1b[A"
CTRL_C = "\x03"
CTRL_D = "\x04"
ASKED_AGAIN = r"\n\s*\[1\] Confirm\n\s*\[2\] Cancel\n"  # the choices shown again, right after the hint

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def screen_text(raw: bytes) -> str:
    """What the shell wrote, as text: escape sequences and carriage returns removed."""
    return _ESCAPES.sub("", raw.decode("utf-8", errors="replace")).replace("\r", "")


class Terminal:
    """One `ops-bot shell` on a pty: `send` types, `expect` waits for text after the last match."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

        def own_terminal() -> None:
            os.setsid()  # a session of its own, whose controlling terminal is this pty
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "shell", *args],
            stdin=slave, stdout=slave, stderr=slave,
            env=env, cwd=cwd, preexec_fn=own_terminal, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.raw = b""
        self.seen = 0  # `expect` looks after this offset of `text()`
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the shell closed its side
                return
            if not chunk:
                return
            with self._lock:
                self.raw += chunk

    def text(self) -> str:
        with self._lock:
            return screen_text(self.raw)

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def line(self, text: str) -> None:
        self.send(text + "\r")

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait for `pattern` (a regex) after the last match; fail with the screen if it does not come."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            match = regex.search(text, self.seen)
            if match:
                self.seen = match.end()
                return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"shell exited ({self.proc.returncode}) before {pattern!r}:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout}s; the screen since:\n{text[self.seen :]}")
            time.sleep(0.02)

    def after(self) -> str:
        """The screen from the last match on."""
        return self.text()[self.seen :]

    def wait(self, timeout: float = 15.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


OpenShell = Callable[..., Terminal]


@pytest.fixture
def open_shell(
    tmp_path: Path, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str
) -> Iterator[OpenShell]:
    """`open_shell(user, history=PATH, text=OPS_YML, env={...}, **base_config_kwargs)`: a shell at its first prompt."""
    opened: list[Terminal] = []

    def start(
        user: str,
        history: Path | None = None,
        text: str | None = None,
        env: dict[str, str] | None = None,
        **config: Any,
    ) -> Terminal:
        extra = {
            "REDIS_PREFIX": redis_prefix,
            "TERM": "xterm-256color",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # no cursor-position report to wait for
            "OPS_SHELL_HISTORY": str(history or tmp_path / "history"),
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        config_path = write_config(text if text is not None else base_config(**config))
        terminal = Terminal(["--as", user], bot_env(config_path, NO_SLACK, bot_db_url, extra=extra), tmp_path)
        opened.append(terminal)
        terminal.expect(rf"ops-bot shell as {user}")
        terminal.expect(re.escape(PROMPT))
        return terminal

    yield start
    for terminal in opened:
        terminal.close()
        assert "Traceback" not in terminal.text(), terminal.text()


def started_at(container: str) -> str:
    done = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_anything_but_a_choice_asks_again_and_the_label_confirms_the_restart(
    open_shell: OpenShell, compose_project: str
) -> None:
    """`y`, `yes` and `3` at Confirm/Cancel each get "Type 1 or 2" and the question again, and
    nothing runs; then `confirm` (the label, any case) restarts the real container."""
    container = f"{compose_project}-api-1"
    before = started_at(container)
    sh = open_shell(OPERATOR, project=compose_project)

    sh.line("/ops restart api")
    sh.expect(r"\[1\] Confirm\n\s*\[2\] Cancel")
    for wrong in ("y", "yes", "3", "exit"):
        sh.expect(re.escape(CHOOSE))
        sh.line(wrong)
        sh.expect(re.escape("Type 1 or 2 (or a button's name); Enter leaves the choice open.") + ASKED_AGAIN)
        assert started_at(container) == before, f"{wrong!r} restarted the container"
    sh.expect(re.escape(CHOOSE))
    sh.line("confirm")
    sh.expect(r"Restart|restart", timeout=60)
    sh.expect(re.escape(PROMPT), timeout=90)
    assert started_at(container) != before, f"`confirm` did not restart the container:\n{sh.text()}"
    assert sh.proc.poll() is None, "the shell left"


def test_a_command_typed_at_a_choice_says_the_choice_was_left_open_then_runs(
    open_shell: OpenShell, compose_project: str
) -> None:
    """`/ops pending` typed at Confirm/Cancel: the shell says the choice is open and how to get
    back to it, runs the command (which lists the restart, waiting), and restarts nothing."""
    container = f"{compose_project}-api-1"
    before = started_at(container)
    sh = open_shell(OPERATOR, project=compose_project)

    sh.line("/ops restart api")
    sh.expect(re.escape(CHOOSE))
    sh.line("/ops pending")
    sh.expect(re.escape("The choice was left open: nothing was run. `/ops pending` shows it again."))
    sh.expect(re.escape("Now running `/ops pending`:"))
    shown = sh.expect(r"(?s)restart api.*?\[1\] Confirm")
    assert "Type 1 or 2" not in shown[0], "the command was taken for a wrong answer"
    sh.expect(re.escape(CHOOSE))
    sh.line("2")  # the Cancel button of the listed confirmation
    sh.expect(r"was cancelled by U0OPER\. Nothing was run\.")
    sh.expect(re.escape(PROMPT))
    assert started_at(container) == before, "the restart ran although it was never confirmed"


def test_ctrl_c_stops_the_running_command_and_the_shell_answers_the_next(
    open_shell: OpenShell, compose_project: str
) -> None:
    """A two-minute `logs --follow` is stopped by Ctrl-C within seconds; the shell says so, is
    still there, runs the next command, and the audit says the tail was cancelled."""
    sh = open_shell(ADMIN, project=compose_project)

    sh.line("/ops logs api --follow 2m")
    sh.expect(r"logs stop \w+")  # the live tail has started
    time.sleep(0.5)
    pressed = time.monotonic()
    sh.send(CTRL_C)
    sh.expect(re.escape("⛔ Ctrl-C: `/ops logs api --follow 2m` was stopped before it ended."))
    sh.expect(re.escape(PROMPT))
    stopped_in = time.monotonic() - pressed
    assert stopped_in < 10, f"Ctrl-C took {stopped_in:.1f}s to stop the command"
    assert sh.proc.poll() is None, "Ctrl-C ended the shell"

    sh.line("/ops contacts")
    sh.expect("== Contacts ==")
    sh.expect(re.escape(PROMPT))
    sh.line("/ops audit 5")
    shown = sh.expect(r"(?s)== Audit.*?" + re.escape(PROMPT), timeout=20)[0]
    assert re.search(r"logs.*cancelled", shown), sh.text()


def test_ctrl_c_during_a_confirmed_step_stops_it_and_the_bot_records_it_interrupted(
    open_shell: OpenShell, compose_project: str, tmp_path: Path
) -> None:
    """`db migrate` confirmed, its program sleeping: a first Ctrl-C only warns that stopping may
    leave it half done; the second stops it (the program is killed, its `touch` never happens),
    the shell answers the next command, and the step is recorded interrupted in the audit log at
    once (its lease is a minute here: no sweep can be what recorded it)."""
    work = tmp_path / "stack"
    work.mkdir()
    text = migrate_config(compose_project, work, "touch started\nsleep 4\ntouch migrated")
    sh = open_shell(ADMIN, text=text, env={"STEP_LEASE_SECONDS": "60"})

    sh.line("/ops db migrate")
    sh.expect(re.escape(CHOOSE), timeout=30)
    sh.line("1")
    deadline = time.monotonic() + 15
    while not (work / "started").exists():
        assert time.monotonic() < deadline, f"the step did not start:\n{sh.text()}"
        time.sleep(0.05)
    sh.send(CTRL_C)
    sh.expect(re.escape("`/ops db migrate` is a confirmed step and is changing things now"))
    sh.expect(re.escape("Press Ctrl-C again to stop it anyway, or wait for it to end."))
    time.sleep(0.5)
    assert "was stopped" not in sh.after(), "the first Ctrl-C stopped the step"
    assert not (work / "migrated").exists()
    sh.send(CTRL_C)
    sh.expect(re.escape("⛔ Ctrl-C: the confirmed step `/ops db migrate` was stopped while it ran."))
    sh.expect(re.escape(PROMPT))
    sh.line("/ops contacts")
    sh.expect("== Contacts ==")
    sh.expect(re.escape(PROMPT))

    time.sleep(5)  # past the program's own sleep: had it survived, it would have touched the file
    assert not (work / "migrated").exists(), "Ctrl-C left the step's program running"
    sh.line("/ops audit 5")
    shown = sh.expect(r"(?s)== Audit.*?" + re.escape(PROMPT), timeout=20)[0]
    assert re.search(r"db migrate.*interrupted", shown), sh.text()


def test_ctrl_c_at_the_prompt_stays_and_ctrl_d_leaves_with_status_0(open_shell: OpenShell) -> None:
    sh = open_shell(ADMIN)

    sh.send("/ops cont")  # a half-typed line, dropped by Ctrl-C
    sh.send(CTRL_C)
    sh.expect(re.escape("(Ctrl-C stops a running command; Ctrl-D or `exit` leaves the shell.)"))
    sh.expect(re.escape(PROMPT))
    sh.send(CTRL_C)
    sh.expect(re.escape(PROMPT))
    assert sh.proc.poll() is None, "Ctrl-C at the prompt ended the shell"
    sh.line("/ops contacts")
    sh.expect("== Contacts ==")
    sh.expect(re.escape(PROMPT))

    sh.send(CTRL_D)
    sh.expect("Bye.")
    assert sh.wait() == 0


def test_the_up_arrow_recalls_the_last_command_within_and_across_sessions(
    open_shell: OpenShell, tmp_path: Path
) -> None:
    history = tmp_path / "state" / "shell_history"
    sh = open_shell(ADMIN, history=history)
    sh.line("/ops contacts")
    sh.expect("== Contacts ==")
    sh.expect(re.escape(PROMPT))
    sh.send(UP)
    sh.send("\r")
    sh.expect("== Contacts ==")  # the recalled line ran again
    sh.expect(re.escape(PROMPT))
    sh.send(CTRL_D)
    assert sh.wait() == 0
    assert history.stat().st_mode & 0o777 == 0o600, "the history is readable by others"

    again = open_shell(ADMIN, history=history)
    again.send(UP)
    again.send("\r")
    again.expect("== Contacts ==")


def test_a_numbered_choice_read_from_a_pipe_still_asks_again(
    tmp_path: Path, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str, compose_project: str
) -> None:
    """Without a terminal (a script piping answers) the same rule holds: `yes` is refused with
    the numbers, `2` then cancels; nothing was restarted."""
    container = f"{compose_project}-api-1"
    before = started_at(container)
    env = bot_env(
        write_config(base_config(project=compose_project)), NO_SLACK, bot_db_url, extra={"REDIS_PREFIX": redis_prefix}
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--as", OPERATOR, "-c", "/ops restart api"],
        input="yes\n2\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.count("Type 1 or 2") == 1, done.stdout
    assert "was cancelled by U0OPER. Nothing was run." in done.stdout, done.stdout
    assert started_at(container) == before


def test_piped_input_ctrl_c_stops_the_command_then_at_the_waiting_prompt_ends_the_shell(
    tmp_path: Path, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str, compose_project: str
) -> None:
    """No terminal (commands piped by a script): a SIGINT while a command runs stops only that
    command and the next piped line still runs; a SIGINT while the shell waits for a line
    nobody types ends it with status 130, as a script's Ctrl-C expects."""
    env = bot_env(
        write_config(base_config(project=compose_project)), NO_SLACK, bot_db_url, extra={"REDIS_PREFIX": redis_prefix}
    )
    out_path = tmp_path / "piped.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "shell", "--as", OPERATOR],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    assert proc.stdin is not None

    def wait_for(pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, text := out_path.read_text(errors="replace")):
            assert proc.poll() is None, f"the shell exited ({proc.returncode}):\n{text}"
            assert time.monotonic() < deadline, f"no {pattern!r}:\n{text}"
            time.sleep(0.05)
        return text

    try:
        proc.stdin.write(b"/ops logs api --follow 2m\n")
        proc.stdin.flush()
        wait_for(r"logs stop \w+")
        proc.send_signal(signal.SIGINT)
        wait_for(re.escape("⛔ Ctrl-C: `/ops logs api --follow 2m` was stopped before it ended."))
        proc.stdin.write(b"/ops contacts\n")
        proc.stdin.flush()
        wait_for(r"== Contacts ==(?s:.*)/ops> $")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in out_path.read_text()


def test_the_history_keeps_commands_not_the_answers_to_a_choice(
    open_shell: OpenShell, compose_project: str, tmp_path: Path
) -> None:
    """After `/ops restart api` answered `2`, the Up arrow brings back the command, not the `2`."""
    history = tmp_path / "history-choices"
    sh = open_shell(OPERATOR, history=history, project=compose_project)
    sh.line("/ops restart api")
    sh.expect(re.escape(CHOOSE))
    sh.line("2")
    sh.expect(r"was cancelled by U0OPER\. Nothing was run\.")
    sh.expect(re.escape(PROMPT))
    sh.send(UP)
    sh.send("\r")
    sh.expect(r"== Restart api ==")  # the command again, previewed again
    sh.expect(re.escape(CHOOSE))
    sh.line("2")
    sh.expect(r"was cancelled by U0OPER\. Nothing was run\.")
    sh.expect(re.escape(PROMPT))
    sh.send(CTRL_D)
    assert sh.wait() == 0
    kept = [line[1:] for line in history.read_text().splitlines() if line.startswith("+")]
    assert kept == ["/ops restart api"], kept  # a repeated line is kept once (prompt_toolkit's rule)


def test_a_history_file_that_cannot_be_opened_is_said_and_the_shell_works_on(
    open_shell: OpenShell, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the history's folder should be\n")
    sh = open_shell(ADMIN, history=blocker / "shell_history")
    assert f"The command history is kept in memory only: {blocker / 'shell_history'} could not be opened" in sh.text()
    sh.line("/ops contacts")
    sh.expect("== Contacts ==")
    sh.expect(re.escape(PROMPT))
    sh.send(UP)
    sh.send("\r")
    sh.expect("== Contacts ==")  # the history in memory still recalls


def test_in_spanish_the_choice_is_asked_again_in_spanish(
    tmp_path: Path, write_config: Callable[[str], Path], bot_db_url: str, redis_prefix: str, compose_project: str
) -> None:
    container = f"{compose_project}-api-1"
    before = started_at(container)
    env = bot_env(
        write_config(base_config(project=compose_project, locale="es")),
        NO_SLACK, bot_db_url, extra={"REDIS_PREFIX": redis_prefix},
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--as", OPERATOR, "-c", "/ops restart api"],
        input="sí\n\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert "Escribe 1 o 2 (o el nombre de un botón); Enter deja la elección abierta." in done.stdout, done.stdout
    assert "La elección quedó abierta: no se ejecutó nada. `/ops pending` la muestra otra vez." in done.stdout
    assert done.stdout.count("Elige un número (Enter para omitir): ") == 2, done.stdout
    assert started_at(container) == before


def test_the_declare_forms_severity_is_asked_again_until_it_is_a_choice(
    tmp_path: Path, write_config: Callable[[str], Path], fresh_db_url: str, redis_prefix: str
) -> None:
    """A bare `incident declare` asks its severity as a numbered choice: `sev9` and `0` get the
    numbers and the question again, then `2` and a title declare a SEV2 (own database here)."""
    policy = "escalation:\n  sev1:\n    - {notify: devops, on_call: true}\n  sev2:\n    - {notify: tech_lead}\n"
    env = bot_env(write_config(base_config(extra=policy)), NO_SLACK, fresh_db_url, extra={"REDIS_PREFIX": redis_prefix})
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--as", OPERATOR, "-c", "/ops incident declare"],
        input="sev9\n0\n2\nPayments down\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.count("Type 1 or 2 (or a button's name)") == 2, done.stdout
    assert "== INC-1 declared (SEV2) ==" in done.stdout and "INC-1: Payments down." in done.stdout, done.stdout
