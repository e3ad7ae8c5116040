"""Reading one line for the shell: with line editing and history in a terminal, plainly otherwise.

In a terminal (stdin and stdout both ttys) prompt_toolkit gives the line editing, the Up
arrow's history and keys as keys: Ctrl-C at a prompt is `Interrupted` (the shell stays),
Ctrl-D is the end of input. Its own SIGINT handling is off (`handle_sigint=False`): the shell
owns SIGINT, which arrives only while a command runs (prompt_toolkit's raw mode turns Ctrl-C
into a key while it reads).

Anywhere else (a pipe, a file, `-c` from a script) lines are read plainly, so piping commands
still works. Nobody types at such a prompt, so a SIGINT while it waits means "stop the whole
thing" (`interrupt_leaves`: the shell exits 130, as a script's Ctrl-C expects); a SIGINT while
a command runs still stops only that command.

History is kept in a file, so yesterday's `/ops logs api --grep …` is one Up arrow away the
next night: `$OPS_SHELL_HISTORY`, else `$XDG_STATE_HOME/ops-bot/shell_history` (by default
`~/.local/state/ops-bot/shell_history`), readable by its owner only. `OPS_SHELL_HISTORY=`
(empty) keeps it in memory for the session. Only commands go there, never the answers to a
choice or a form.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Protocol, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

HISTORY_VARIABLE = "OPS_SHELL_HISTORY"


class Interrupted(Exception):
    """Ctrl-C while a prompt waited: the line is dropped, the shell goes on. `typed` is what the
    line held (empty: a Ctrl-C meant for what runs beside the prompt, e.g. a live tail)."""

    def __init__(self, typed: str = "") -> None:
        super().__init__(typed)
        self.typed = typed


class LineReader(Protocol):
    interrupt_leaves: bool
    """Whether an `Interrupted` read ends the shell (plain input) or only drops the line (a terminal)."""

    async def read(self, prompt: str, *, remember: bool = False) -> str | None:
        """One line without its newline; None at the end of input; `Interrupted` on Ctrl-C.
        `remember`: the line goes into the history (commands, not answers to a choice)."""
        ...

    def interrupt(self) -> bool:
        """A SIGINT arrived: interrupt the read that waits, if one does (True then)."""
        ...


_INTERRUPT = object()


class PlainReader:
    """Lines from a non-terminal stdin, read by one daemon thread into a queue.

    The thread, not the event loop, blocks in readline: a read can then be interrupted (the
    thread's line is kept for the next read) and the process can exit while it waits.
    """

    interrupt_leaves = True

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out
        self._queue: asyncio.Queue[object] | None = None
        self._waiting = False

    def _start(self) -> asyncio.Queue[object]:
        if self._queue is None:
            queue: asyncio.Queue[object] = asyncio.Queue()
            loop = asyncio.get_running_loop()

            def pump() -> None:
                while True:
                    line = self.stdin.readline()
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        loop.call_soon_threadsafe(queue.put_nowait, line)
                    if line == "":
                        return

            threading.Thread(target=pump, name="shell-stdin", daemon=True).start()
            self._queue = queue
        return self._queue

    async def read(self, prompt: str, *, remember: bool = False) -> str | None:
        queue = self._start()
        self.out.write(prompt)
        self.out.flush()
        self._waiting = True
        try:
            line = await queue.get()
        finally:
            self._waiting = False
        if line is _INTERRUPT:
            self.out.write("\n")
            raise Interrupted
        if line == "":
            queue.put_nowait("")  # the end stays the end for every later read
            return None
        assert isinstance(line, str)
        return line.rstrip("\r\n")

    def interrupt(self) -> bool:
        if not self._waiting or self._queue is None:
            return False
        self._queue.put_nowait(_INTERRUPT)
        return True


class TtyReader:
    """prompt_toolkit prompts: one session with the history for commands, one without for choices."""

    interrupt_leaves = False

    def __init__(self, history: History) -> None:
        self.commands: PromptSession[str] = PromptSession(history=history)
        self.answers: PromptSession[str] = PromptSession(history=InMemoryHistory())
        self._current: PromptSession[str] | None = None

    async def read(self, prompt: str, *, remember: bool = False) -> str | None:
        session = self.commands if remember else self.answers
        self._current = session
        try:
            return await session.prompt_async(prompt, handle_sigint=False, set_exception_handler=False)
        except KeyboardInterrupt:
            raise Interrupted(session.default_buffer.text) from None
        except EOFError:
            return None
        finally:
            self._current = None

    def interrupt(self) -> bool:
        """A SIGINT from outside (`kill -INT`) while a prompt is shown: as Ctrl-C there."""
        session = self._current
        if session is None or not session.app.is_running:
            return False
        session.app.exit(exception=KeyboardInterrupt())
        return True


def history_path(environ: dict[str, str] | None = None) -> Path | None:
    """Where the commands' history is kept; None: in memory only."""
    env = os.environ if environ is None else environ
    if HISTORY_VARIABLE in env:
        value = env[HISTORY_VARIABLE].strip()
        return Path(value).expanduser() if value else None
    state = env.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
    return Path(state) / "ops-bot" / "shell_history"


def open_history(path: Path | None) -> tuple[History, str | None]:
    """The history at `path` (made private to its owner), or one in memory and why not."""
    if path is None:
        return InMemoryHistory(), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        return InMemoryHistory(), exc.strerror or type(exc).__name__
    return FileHistory(str(path)), None


def is_terminal(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> bool:
    """Line editing only where a person types and reads: both ends must be terminals."""
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):
        return False
