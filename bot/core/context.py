"""What a handler knows about the call it serves: who, where, in which language, and its deps.

`progress(text)` reports slow work ("deleted 40,000 of 200,000 keys"); `update(result)`
replaces the message the flow lives in (a confirmation moving from pending to done).
Adapters decide how each shows: Slack edits the message, the terminal prints a line.
`thread` is where a long-running operation writes a stream of messages (bot/core/threads.py);
None when the adapter has no threads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.config.ops_yml import OpsConfig
from bot.core.deps import Deps
from bot.core.threads import Thread
from bot.output.results import Result
from bot.text.messages import Catalog

Progress = Callable[[str], Awaitable[None]]
Update = Callable[[Result], Awaitable[None]]


async def _no_progress(_: str) -> None:
    return None


async def _no_update(_: Result) -> None:
    return None


@dataclass
class OpContext:
    deps: Deps
    user_id: str
    channel_id: str | None
    request_id: str
    source: str
    role: str | None
    t: Catalog
    progress: Progress = field(default=_no_progress)
    update: Update = field(default=_no_update)
    thread: Thread | None = None

    @property
    def config(self) -> OpsConfig:
        return self.deps.config

    @property
    def prefix(self) -> str:
        return self.deps.config.slack.command
