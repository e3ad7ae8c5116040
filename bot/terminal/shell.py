"""`ops-bot shell`: the same registry and role checks in a terminal; buttons become numbered choices.

With `-c` it runs one command and exits 0 when the outcome was ok, 1 otherwise, so a
script can use it. A choice (a button) is read from standard input in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Attachment, Buttons, Result
from bot.output.terminal import render_text, save_files
from bot.text.messages import Catalog

EXIT_WORDS = {"exit", "quit", "salir", ":q"}


def default_user() -> str:
    return os.environ.get("OPS_SHELL_USER") or f"local:{os.environ.get('USER', 'shell')}"


async def _read(prompt: str, out: TextIO) -> str | None:
    """One line of stdin, read in a daemon thread: a Ctrl-C at the prompt ends the shell at once
    (asyncio.run would wait for an executor thread blocked in readline until Enter)."""
    out.write(prompt)
    out.flush()
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def deliver(line: str) -> None:
        if not answer.done():
            answer.set_result(line)

    def read() -> None:
        line = sys.stdin.readline()
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=read, name="shell-stdin", daemon=True).start()
    line = await answer
    return None if line == "" else line.strip()


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
    def __init__(self, runtime: Runtime, user_id: str, out: TextIO = sys.stdout) -> None:
        self.runtime = runtime
        self.user_id = user_id
        self.out = out
        self.files_dir = Path(tempfile.gettempdir()) / "ops-bot-files"

    @property
    def t(self) -> object:
        return self.runtime.dispatcher.t

    async def run_one(self, text: str) -> Result:
        """Dispatch, print, save files, then offer the buttons as numbered choices."""
        if self.runtime.dispatcher.is_bare_declare(text):
            text = await self._declare_form() or text
        invocation = Invocation(text=text, user_id=self.user_id, channel_id=None, source="shell")

        async def progress(line: str) -> None:
            print(f"… {line}", file=self.out, flush=True)

        async def update(result: Result) -> None:
            print(render_text(result).text, file=self.out, flush=True)

        thread = ShellThread(self.out, self.files_dir, self.runtime.dispatcher.t)
        result = await self.runtime.dispatcher.dispatch(invocation, progress=progress, update=update, thread=thread)
        message = render_text(result)
        print(message.text, file=self.out)
        for path in save_files(message.files, self.files_dir):
            print(self.runtime.dispatcher.t("file.saved", path=path), file=self.out)
        if message.choices:
            for choice in message.choices:
                if choice.command.startswith(f"{self.runtime.config.slack.command} approve "):
                    print(self.runtime.dispatcher.t("shell.approve_elsewhere", command=choice.command), file=self.out)
            answer = await _read(self.runtime.dispatcher.t("shell.choose"), self.out)
            if answer and answer.isdigit() and 1 <= int(answer) <= len(message.choices):
                return await self.run_one(message.choices[int(answer) - 1].command)
        return result

    async def _declare_form(self) -> str | None:
        """A bare `incident declare` opens Slack's form; here its two fields are prompts."""
        t = self.runtime.dispatcher.t
        severities = list(self.runtime.config.escalation.policies) or ["sev1", "sev2"]
        choices = "  ".join(f"[{n}] {name.upper()}" for n, name in enumerate(severities, 1))
        print(f"{t('modal.declare.severity')}: {choices}", file=self.out)
        answer = await _read(t("shell.choose"), self.out)
        if not (answer and answer.isdigit() and 1 <= int(answer) <= len(severities)):
            return None
        title = await _read(f"{t('modal.declare.what')} ", self.out)
        if not title:
            return None
        return f"{self.runtime.config.slack.command} incident declare {severities[int(answer) - 1]} {title}"

    async def repl(self) -> int:
        t = self.runtime.dispatcher.t
        role = await self.runtime.deps.roles.role_of(self.user_id)
        print(t("shell.welcome", user=self.user_id, role=role or t("role.none")), file=self.out)
        while True:
            line = await _read(f"{self.runtime.config.slack.command}> ", self.out)
            if line is None or line.lower() in EXIT_WORDS:
                print(t("shell.bye"), file=self.out)
                return 0
            if line:
                await self.run_one(line)
