"""A thread of messages a long-running operation writes into (a live log tail), adapter-neutral.

A handler never talks to Slack; it gets `ctx.thread`, which the adapter provides:

    handle = await ctx.thread.start(result)       # the thread's first message
    await ctx.thread.reply(handle, result)        # one reply in that thread
    await ctx.thread.attach(handle, attachment)   # a file in that thread

Slack posts with the bot token (chat.postMessage with thread_ts, files_upload_v2 with
thread_ts, bot/slack/thread.py); the terminal prints (bot/terminal/shell.py). `ctx.thread` is None
where no adapter can do it, and the operation must say so rather than fail. Pacing is the
caller's job (Slack takes about one message per second per channel). A failure to post
raises ThreadError so the operation can stop instead of writing into the void.

The dispatcher wraps every thread in `RedactingThread`, the same last gate before output
that results pass through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.output.results import Attachment, Result, redact_result


class ThreadError(Exception):
    """The adapter could not post into the thread (not in the channel, Slack down…)."""


class Thread(Protocol):
    async def start(self, result: Result) -> str: ...

    async def reply(self, handle: str, result: Result) -> None: ...

    async def attach(self, handle: str, attachment: Attachment) -> None: ...


@dataclass
class RedactingThread:
    """Every message and file of a thread through the redactor before it leaves the bot."""

    inner: Thread
    redact: Callable[[str], str]

    async def start(self, result: Result) -> str:
        return await self.inner.start(redact_result(result, self.redact))

    async def reply(self, handle: str, result: Result) -> None:
        await self.inner.reply(handle, redact_result(result, self.redact))

    async def attach(self, handle: str, attachment: Attachment) -> None:
        content = self.redact(attachment.content.decode("utf-8", errors="replace")).encode()
        await self.inner.attach(handle, replace(attachment, content=content, title=self.redact(attachment.title)))
