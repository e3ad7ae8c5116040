"""The one path every command and click takes: parse, check role, confirm, run, audit, measure.

Adapters (Slack HTTP, Socket Mode, terminal) turn their input into an `Invocation` and
render the `Result` they get back; they never decide who may do what. Known failures
become a short message from the catalog; anything unexpected becomes an error id the user
can quote, with the traceback in the log only.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from bot.core.audit import AuditEntry
from bot.core.context import OpContext, Progress, Update, _no_progress, _no_update
from bot.core.deps import Deps
from bot.core.parsing import bind_words, find_operation, split_words, validate_args
from bot.core.registry import OpArgs, Operation
from bot.core.threads import RedactingThread, Thread
from bot.core.verify import audit_record
from bot.output.results import Result, Text, redact_result
from bot.storage.database import short_error
from bot.text.errors import (
    BotError,
    ConfirmationError,
    RoleError,
    TargetError,
    UnavailableError,
    UnknownCommandError,
    UsageError,
)
from bot.text.messages import Catalog


class ConfirmationFlow(Protocol):
    """What the dispatcher hands a destructive operation to instead of running it."""

    async def request(self, ctx: OpContext, op: Operation, args: OpArgs) -> Result: ...


log = logging.getLogger(__name__)

TERMINAL_SOURCES = frozenset({"shell"})
AUDIT_WAIT = 2.0
"""The longest a read-only answer waits for its audit row."""


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Invocation:
    """A command as typed or clicked: the raw text and who sent it from where.

    `arguments`, when given, are the operation's fields as structured values (a form's
    inputs); `text` then names the operation only, and the values are validated by the same
    model as typed words, without being re-quoted into a string and split again.
    """

    text: str
    user_id: str
    channel_id: str | None
    source: str
    request_id: str = field(default_factory=new_request_id)
    arguments: dict[str, Any] | None = None


def error_result(message: str) -> Result:
    return Result(title="", blocks=[Text(message)], ok=False, ephemeral=True, summary=message)


class Dispatcher:
    def __init__(self, deps: Deps, confirmations: ConfirmationFlow | None = None) -> None:
        self.deps = deps
        self.confirmations: ConfirmationFlow = confirmations or deps.confirmations
        self._late_rows: set[asyncio.Future[None]] = set()

    @property
    def t(self) -> Catalog:
        return Catalog(self.deps.config.locale)

    def is_bare_declare(self, text: str) -> bool:
        """A bare `incident declare` (typed or from a button): each adapter completes it with its
        form (Slack's modal, the terminal's prompts), so the check lives here, below both."""
        return self.strip_prefix(text).lower().split() == ["incident", "declare"]

    def strip_prefix(self, text: str) -> str:
        """Accept `/ops status` as well as `status` (the terminal and buttons send the former)."""
        prefix = self.deps.config.slack.command
        stripped = text.strip()
        if stripped == prefix or stripped.startswith(prefix + " "):
            return stripped[len(prefix) :].strip()
        return stripped

    def context(
        self,
        inv: Invocation,
        role: str | None,
        progress: Progress | None = None,
        update: Update | None = None,
        thread: Thread | None = None,
    ) -> OpContext:
        return OpContext(
            deps=self.deps,
            user_id=inv.user_id,
            channel_id=inv.channel_id,
            request_id=inv.request_id,
            source=inv.source,
            role=role,
            t=self.t,
            progress=progress or _no_progress,
            update=update or _no_update,
            thread=thread,
        )

    async def authorize(self, inv: Invocation, op: Operation) -> str | None:
        """The caller's role if they may run `op` here; RoleError otherwise. The one role check."""
        t = self.t
        prefix = self.deps.config.slack.command
        if (
            inv.source not in TERMINAL_SOURCES
            and not op.any_channel
            and not self.deps.roles.channel_allowed(inv.channel_id)
        ):
            channels = ", ".join(self.deps.config.slack.allowed_channels)
            raise RoleError("error.channel", prefix=prefix, channels=channels)
        role = await self.deps.roles.role_of(inv.user_id)
        if not self.deps.roles.allows(role, op):
            raise await self.deps.roles.refusal(t, f"{prefix} {op.name}", self.deps.roles.required(op), role)
        return role

    async def dispatch(
        self,
        inv: Invocation,
        progress: Progress | None = None,
        update: Update | None = None,
        thread: Thread | None = None,
    ) -> Result:
        """Run one invocation to its result, redacted; never raises for a user's mistake, a target's
        failure or the audit database's."""
        redact = self.deps.redact
        safe_update = None
        if update is not None:
            outer = update

            async def safe_update(result: Result) -> None:
                await outer(redact_result(result, redact))

        safe_progress = None
        if progress is not None:
            inner = progress

            async def safe_progress(line: str) -> None:
                await inner(redact(line))

        safe_thread = RedactingThread(thread, redact) if thread is not None else None
        result = await self._dispatch(inv, safe_progress, safe_update, safe_thread)
        return redact_result(result, redact)

    async def _dispatch(
        self, inv: Invocation, progress: Progress | None, update: Update | None, thread: Thread | None = None
    ) -> Result:
        started = time.perf_counter()
        entry = AuditEntry(
            request_id=inv.request_id,
            user_id=inv.user_id,
            channel_id=inv.channel_id,
            source=inv.source,
            operation="?",
            arguments={"text": inv.text[:500]},
        )
        try:
            t = self.t
            prefix = self.deps.config.slack.command
            words = split_words(self.strip_prefix(inv.text), t)
            parsed = find_operation(words, self.deps.registry, prefix, t)
            op = parsed.operation
            entry.operation = op.name
            role = await self.authorize(inv, op)
            data = bind_words(op, parsed.words, t, prefix) if inv.arguments is None else dict(inv.arguments)
            args = validate_args(op, data, {"config": self.deps.config, "t": t}, t, prefix)
            entry.arguments = args.model_dump(mode="json")
            ctx = self.context(inv, role, progress, update, thread)
            if op.destructive != "none":
                result = await self.confirmations.request(ctx, op, args)
                entry.decision = "pending"
            elif op.self_timed:
                result = await op.handler(ctx, args)
            else:
                result = await asyncio.wait_for(op.handler(ctx, args), op.timeout)
                assert isinstance(result, Result), f"{op.name} returned {type(result).__name__}"
            entry.outcome = "ok" if result.ok else "failed"
            entry.detail = result.summary or None
            entry.verification = audit_record(result)
        except UnknownCommandError as exc:
            entry.decision, entry.outcome = "unknown", "refused"
            result = self._known(exc, entry)
        except UsageError as exc:
            entry.decision, entry.outcome = "invalid", "refused"
            result = self._known(exc, entry)
        except RoleError as exc:
            entry.decision, entry.outcome = "denied", "refused"
            result = self._known(exc, entry)
        except (ConfirmationError, UnavailableError, TargetError, BotError) as exc:
            entry.outcome = "failed"
            result = self._known(exc, entry)
        except TimeoutError:
            entry.outcome = "timeout"
            known = self.deps.registry.get(entry.operation)
            seconds = f"{known.timeout:g}" if known else "?"
            result = error_result(self.t("error.timeout", operation=entry.operation, seconds=seconds))
            entry.detail = result.summary
        except asyncio.CancelledError:
            # Ctrl-C in the shell, or the bot stopping: the command did not end. Its row says so,
            # written beside the cancellation (which is not held back for it).
            entry.outcome = "cancelled"
            entry.detail = "cancelled before it ended"
            entry.duration_ms = int((time.perf_counter() - started) * 1000)
            self.deps.metrics.commands.labels(entry.operation, entry.outcome).inc()
            self._finish_later(asyncio.ensure_future(self._write(entry, strict=False)))
            raise
        except Exception:
            error_id = new_request_id()
            log.exception("error %s in %r (request %s)", error_id, entry.operation, inv.request_id)
            entry.outcome = "error"
            entry.detail = f"internal error {error_id}"
            result = error_result(self.t("error.internal", error_id=error_id))
        entry.duration_ms = int((time.perf_counter() - started) * 1000)
        self.deps.metrics.commands.labels(entry.operation, entry.outcome).inc()
        if entry.decision == "allowed":
            self.deps.metrics.run_seconds.labels(entry.operation).observe(entry.duration_ms / 1000)
        await self.record(entry, strict=False)
        return result

    async def record(self, entry: AuditEntry, strict: bool) -> None:
        """Write an audit row; when `strict`, a database outage is an error (destructive paths).

        Otherwise the answer waits for the row at most AUDIT_WAIT: a hung bot database would
        hold every read-only answer for its connect and command timeouts (8 s measured). The
        write goes on in the background and is logged if it fails."""
        write = asyncio.ensure_future(self._write(entry, strict))
        if strict:
            await write
            return
        try:
            await asyncio.wait_for(asyncio.shield(write), AUDIT_WAIT)
        except TimeoutError:
            self._finish_later(write)
            log.warning("audit row for %s not written within %gs; answering first", entry.operation, AUDIT_WAIT)

    def _finish_later(self, write: asyncio.Future[None]) -> None:
        """Keep a reference to an audit write that goes on after the answer (or the cancellation)."""
        self._late_rows.add(write)
        write.add_done_callback(self._late_rows.discard)

    async def _write(self, entry: AuditEntry, strict: bool) -> None:
        try:
            await self.deps.audit.record(entry)
        except UnavailableError:
            if strict:
                raise
            log.warning("audit row not written (bot database down): %s %s", entry.operation, entry.outcome)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            # e.g. tables not migrated yet: the user still gets the answer, the log says why.
            if strict:
                raise UnavailableError(part="database", detail=short_error(exc)) from None
            log.warning("audit row not written (%s): %s %s", short_error(exc), entry.operation, entry.outcome)

    def _known(self, exc: BotError, entry: AuditEntry) -> Result:
        message = self.deps.redact(self.t(exc.key, **exc.fields))
        entry.detail = message
        return error_result(message)
