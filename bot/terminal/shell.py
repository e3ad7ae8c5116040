"""`ops-bot shell`: the same registry and role checks in a terminal; buttons become numbered choices.

With `-c` it runs one command and exits 0 when the outcome was ok, 1 otherwise, so a
script can use it. A choice (a button) is read from standard input in both modes: by its
number or its label (bot/terminal/choices.py); anything else is answered with the numbers
that are a choice and the question again, never dropped.

Interactively, a running command is a task of its own: Ctrl-C (SIGINT) cancels that task and
the shell says so, then prompts again. Ctrl-C at a terminal's prompt drops the line (at a
piped one it ends the shell, status 130); Ctrl-D or `exit` leaves with status 0. Line editing
and history: bot/terminal/lines.py.

In a terminal a long look (a live tail: `logs --follow`) runs beside the prompt, as it does in
Slack's thread: its lines print above the prompt (prompt_toolkit's `patch_stdout`) while the
next command is typed, so its own `/ops logs stop <id>` or an `/ops ps` works at once. Ctrl-C
at an empty prompt stops the newest of them; with a line typed it only drops the line. Piped
input keeps one command after the other, as a script expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from prompt_toolkit.patch_stdout import patch_stdout

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.core.parsing import find_operation, split_words
from bot.output.results import Attachment, Button, Buttons, Result
from bot.output.terminal import render_text, save_files
from bot.terminal.choices import choices_lines, numbers_phrase, read_answer
from bot.terminal.lines import Interrupted, LineReader, PlainReader, TtyReader, history_path, is_terminal, open_history
from bot.terminal.notices import listen_for_decisions
from bot.text.errors import BotError
from bot.text.messages import Catalog

EXIT_WORDS = {"exit", "quit", "salir", ":q"}

log = logging.getLogger("ops-bot")


def default_user() -> str:
    return os.environ.get("OPS_SHELL_USER") or f"local:{os.environ.get('USER', 'shell')}"


JOIN_VARIABLE = "OPS_SHELL_JOIN"


def join_command() -> str:
    """How another person opens a terminal on this same bot, for the approve hint: the demo sets
    `OPS_SHELL_JOIN="bash scripts/demo.sh --as"` (its users never type `ops-bot shell`)."""
    return os.environ.get(JOIN_VARIABLE, "").strip() or "ops-bot shell --as"


def make_reader(out: TextIO, t: Catalog) -> LineReader:
    """prompt_toolkit in a terminal, plain lines from anything else (a pipe keeps working)."""
    if not is_terminal(sys.stdin, out):
        return PlainReader(sys.stdin, out)
    path = history_path()
    history, problem = open_history(path)
    if problem is not None:
        print(t("shell.history_in_memory", path=path, error=problem), file=out)
    return TtyReader(history)


class ShellThread:
    """`ctx.thread` for the terminal: a thread is just lines printed as they come; files are saved.

    Buttons cannot be clicked while the command runs, so their commands are printed instead
    (another shell can type them).
    """

    def __init__(self, out: TextIO, files_dir: Path, t: Catalog) -> None:
        self.out = out
        self.files_dir = files_dir
        self.t = t

    def _print(self, result: Result) -> None:
        shown = Result(result.title, [b for b in result.blocks if not isinstance(b, Buttons)])
        lines = [render_text(shown).text]
        for block in result.blocks:
            if isinstance(block, Buttons):
                lines.extend(f"  {button.label}: {button.command}" for button in block.buttons)
        print("\n".join(line for line in lines if line), file=self.out, flush=True)

    async def start(self, result: Result) -> str:
        self._print(result)
        return "terminal"

    async def reply(self, handle: str, result: Result) -> None:
        self._print(result)

    async def attach(self, handle: str, attachment: Attachment) -> None:
        for path in save_files([attachment], self.files_dir):
            print(self.t("file.saved", path=path), file=self.out, flush=True)


class Shell:
    def __init__(
        self, runtime: Runtime, user_id: str, out: TextIO = sys.stdout, reader: LineReader | None = None
    ) -> None:
        self.runtime = runtime
        self.user_id = user_id
        self.out = out
        self.files_dir = Path(tempfile.gettempdir()) / "ops-bot-files"
        self.reader = reader or make_reader(out, runtime.dispatcher.t)
        self._running: asyncio.Task[Result] | None = None
        self._command = ""  # the command the running task stands for, for the Ctrl-C message
        self._step = False  # whether that task runs a confirmed (destructive) step
        self._warned = False  # a first Ctrl-C during that step only warned
        self._beside: list[tuple[str, asyncio.Task[Result]]] = []  # long looks running beside the prompt

    @property
    def t(self) -> Catalog:
        return self.runtime.dispatcher.t

    @property
    def prefix(self) -> str:
        return self.runtime.config.slack.command

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run_one(self, text: str, origin: str | None = None) -> Result:
        """Dispatch, print, save files, then offer the buttons as numbered choices.

        `origin`: the command whose button this is (`/ops restart api` for its Confirm), so a
        Ctrl-C while the confirmed step runs names the step, not `/ops confirm 3f2a…`."""
        if self.runtime.dispatcher.is_bare_declare(text):
            text = await self._declare_form() or text
        self._step, self._warned = self._is_step(text), False
        self._command = origin if origin and self._step else text
        invocation = Invocation(text=text, user_id=self.user_id, channel_id=None, source="shell")

        async def progress(line: str) -> None:
            self.say(f"… {line}")

        async def update(result: Result) -> None:
            self.say(render_text(result).text)

        thread = ShellThread(self.out, self.files_dir, self.t)
        result = await self.runtime.dispatcher.dispatch(invocation, progress=progress, update=update, thread=thread)
        message = render_text(result)
        print(message.text, file=self.out)
        for path in save_files(message.files, self.files_dir):
            print(self.t("file.saved", path=path), file=self.out)
        if not message.choices:
            return result
        for choice in message.choices:
            if choice.command.startswith(f"{self.prefix} approve "):
                print(self.t("shell.approve_elsewhere", join=join_command(), command=choice.command), file=self.out)
        return await self._choose(message.choices, result, origin or text)

    async def _choose(self, choices: list[Button], shown: Result, asked_by: str) -> Result:
        """Ask until the answer is a choice, a skip or a command; say what became of the choice."""
        while True:
            try:
                line = await self.reader.read(self.t("shell.choose"))
            except Interrupted:
                line = None
            answer = read_answer(line, choices, self.prefix)
            if answer.kind == "pick":
                assert answer.index is not None
                return await self.run_one(choices[answer.index].command, origin=asked_by)
            if answer.kind in ("skip", "command"):
                self.say(self._left_open(choices))
                if answer.command is None:
                    return shown
                self.say(self.t("shell.choice.now_running", command=answer.command))
                return await self.run_one(answer.command)
            self.say(self.t("shell.choice.invalid", numbers=numbers_phrase(len(choices), self.t)))
            self.say(choices_lines(choices))

    def _left_open(self, choices: list[Button]) -> str:
        """A confirmation stays pending (and `/ops pending` lists it); other buttons just were not pressed."""
        if any(self._is_step(choice.command) or self._is_approval(choice.command) for choice in choices):
            return self.t("shell.choice.left_open", command=f"{self.prefix} pending")
        return self.t("shell.choice.skipped")

    def _is_step(self, command: str) -> bool:
        return command.startswith(f"{self.prefix} confirm ") or self._is_approval(command)

    def _is_approval(self, command: str) -> bool:
        return command.startswith(f"{self.prefix} approve ")

    async def _declare_form(self) -> str | None:
        """A bare `incident declare` opens Slack's form; here its two fields are prompts."""
        t = self.t
        severities = list(self.runtime.config.escalation.policies) or ["sev1", "sev2"]
        labels = [Button(name.upper(), name) for name in severities]
        choices = "  ".join(f"[{n}] {name.upper()}" for n, name in enumerate(severities, 1))
        print(f"{t('modal.declare.severity')}: {choices}", file=self.out)
        while True:
            try:
                line = await self.reader.read(t("shell.choose"))
            except Interrupted:
                return None
            answer = read_answer(line, labels, self.prefix)
            if answer.kind == "pick":
                break
            if answer.kind != "invalid":
                return None
            self.say(t("shell.choice.invalid", numbers=numbers_phrase(len(labels), t)))
        assert answer.index is not None
        try:
            title = await self.reader.read(f"{t('modal.declare.what')} ")
        except Interrupted:
            return None
        if not title or not title.strip():
            return None
        return f"{self.prefix} incident declare {severities[answer.index]} {title.strip()}"

    def runs_beside(self, text: str) -> bool:
        """Whether `text` is a long look (a live tail) that runs beside the prompt: only where a
        person types (piped input keeps its order), and never a step that changes things."""
        if self.reader.interrupt_leaves:
            return False
        dispatcher = self.runtime.dispatcher
        try:
            words = split_words(dispatcher.strip_prefix(text), self.t)
            op = find_operation(words, self.runtime.deps.registry, self.prefix, self.t).operation
        except BotError:
            return False
        return op.long and op.destructive == "none"

    def start_beside(self, text: str) -> None:
        """Run `text` as a task of its own; the prompt comes back at once."""
        task = asyncio.ensure_future(self.run_one(text))
        entry = (text, task)
        self._beside.append(entry)

        def done(finished: asyncio.Task[Result]) -> None:
            with contextlib.suppress(ValueError):
                self._beside.remove(entry)
            if finished.cancelled():
                self.say(self.t("shell.interrupted", command=text))
            elif finished.exception() is not None:
                log.error("%s ended with an error", text, exc_info=finished.exception())

        task.add_done_callback(done)

    def stop_beside(self) -> bool:
        """Ctrl-C at an empty prompt: stop the newest long look running beside it, if any."""
        for _, task in reversed(self._beside):
            if not task.done():
                task.cancel()
                return True
        return False

    async def _end_beside(self) -> None:
        """Leaving the shell: the looks still running stop (recorded as cancelled, said)."""
        tasks = [task for _, task in self._beside]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    async def run_interruptible(self, text: str) -> Result | None:
        """`run_one` as a task that a Ctrl-C cancels; None when it was cancelled so."""
        task = asyncio.ensure_future(self.run_one(text))
        self._running = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the shell itself is being stopped, not just this command
            key = "shell.interrupted_step" if self._step else "shell.interrupted"
            self.say(self.t(key, command=self._command))
            return None
        finally:
            self._running = None

    def on_sigint(self) -> None:
        """Ctrl-C: interrupt the prompt that waits, else cancel the running command.

        A confirmed step (a restart, a migration, a restore) is changing things: stopped
        halfway it may leave them half done, so the first Ctrl-C only says so and a second
        one stops it. Anything else stops at the first."""
        if self.reader.interrupt():
            return
        if self._running is None or self._running.done():
            return
        if self._step and not self._warned:
            self._warned = True
            self.say("")
            self.say(self.t("shell.step_still_running", command=self._command))
            return
        self.say("")
        self._running.cancel()

    async def repl(self) -> int:
        if self.reader.interrupt_leaves:
            return await self._repl()
        original = sys.stdout
        patched = self.out is original
        with patch_stdout(raw=True):  # what runs beside the prompt prints above it
            if patched:
                self.out = sys.stdout
            try:
                return await self._repl()
            finally:
                await self._end_beside()
                if patched:
                    self.out = original

    async def _repl(self) -> int:
        deps = self.runtime.deps
        prefix = self.runtime.settings.redis_prefix
        listener = asyncio.ensure_future(listen_for_decisions(deps.redis, prefix, self.user_id, self.t, self.say))
        try:
            return await self._read_commands()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _read_commands(self) -> int:
        t = self.t
        role = await self.runtime.deps.roles.role_of(self.user_id)
        print(t("shell.welcome", user=self.user_id, role=t(f"role.{role}") if role else t("role.none")), file=self.out)
        loop = asyncio.get_running_loop()
        handled = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signal.SIGINT, self.on_sigint)
            handled = True
        try:
            while True:
                try:
                    line = await self.reader.read(f"{self.prefix}> ", remember=True)
                except Interrupted as interrupted:
                    if self.reader.interrupt_leaves:
                        print(t("shell.bye"), file=self.out)
                        return 130
                    if interrupted.typed.strip() or not self.stop_beside():
                        self.say(t("shell.ctrl_c_hint"))
                    continue
                if line is None or line.strip().lower() in EXIT_WORDS:
                    print(t("shell.bye"), file=self.out)
                    return 0
                if line.strip() and self.runs_beside(line.strip()):
                    self.start_beside(line.strip())
                elif line.strip():
                    await self.run_interruptible(line.strip())
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
