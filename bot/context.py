"""What a handler knows about the call it serves: who, where, in which language, and its deps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.config import OpsConfig
from bot.deps import Deps
from bot.messages import Catalog

Progress = Callable[[str], Awaitable[None]]


async def _no_progress(_: str) -> None:
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

    @property
    def config(self) -> OpsConfig:
        return self.deps.config

    @property
    def prefix(self) -> str:
        return self.deps.config.slack.command
