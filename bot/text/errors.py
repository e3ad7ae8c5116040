"""Every error the bot knows how to explain to a user.

    BotError                 a known failure; carries a catalog key and its fields
    ├── UsageError           the command text or its arguments are wrong; nothing ran
    ├── UnknownCommandError  no such operation; carries close names
    ├── RoleError            the caller's role is not enough, or the channel is not allowed
    ├── ConfirmationError    a confirmation is missing, expired, foreign or already used
    ├── UnavailableError     a part the bot itself needs (its Postgres or Redis) is down
    └── TargetError          a target (container, API, database, cache) failed or timed out

Anything else that escapes a handler is a bug: the dispatcher logs its traceback under
an error id and shows the user only that id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.text.messages import Msg


class BotError(Exception):
    """A failure with a message from the catalog; `key` and `fields` render it."""

    key: str = "error.generic"

    def __init__(self, key: str | None = None, /, **fields: Any) -> None:
        self.key = key or self.key
        self.fields = fields
        super().__init__(f"{self.key} {fields}")


class UsageError(BotError):
    key = "error.usage"


class UnknownCommandError(BotError):
    key = "error.unknown_command"


class RoleError(BotError):
    key = "error.role"


class ConfirmationError(BotError):
    key = "error.confirmation"


class UnavailableError(BotError):
    key = "error.unavailable"


class TargetError(BotError):
    """A target failed; `service` names it and `detail` says how, already redacted."""

    key = "error.target"

    def __init__(self, service: str, detail: str | Msg, key: str | None = None) -> None:
        super().__init__(key, service=service, detail=detail)
        self.service = service
        self.detail = detail
