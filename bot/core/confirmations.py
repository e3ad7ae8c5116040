"""Destructive steps run only after the right people say yes, and exactly once.

A destructive command first shows a preview computed for real (changing nothing) with
Confirm/Cancel buttons. The pending action lives in the bot's Redis with a TTL, bound to
the requester, the channel and the exact arguments. Every move of its state is one
atomic Lua script, so ten simultaneous clicks, a Slack retry, or clicks reaching two
replicas find exactly one winner:

    pending ──requester confirms──▶ running ──▶ done | failed
       │   └─(critical)──▶ awaiting_approval ──other admin approves──▶ running
       └──cancel / reject──▶ cancelled                      (TTL ends: gone = expired)

Roles are checked again at click time. If the bot's Redis or audit database is down, a
destructive step is refused (fail closed); read-only commands do not come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

import asyncpg
import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from bot.core.argtypes import positional
from bot.core.audit import AuditEntry
from bot.core.audit_spool import AuditSpool, write_or_keep
from bot.core.detached import DetachedUpdate
from bot.core.lanes import confirmed_step
from bot.core.registry import OpArgs, Operation, operation
from bot.core.roles import rank
from bot.core.step_leases import Leases
from bot.core.target_locks import Holder, TargetLocks, targets_of
from bot.core.verify import audit_record
from bot.output.results import Block, Button, Buttons, Fields, Result, Text
from bot.storage.database import short_error
from bot.text import times
from bot.text.errors import BotError, ConfirmationError, UnavailableError
from bot.text.ids import new_id
from bot.text.messages import Catalog


class _HasConfirmations(Protocol):
    @property
    def confirmations(self) -> Confirmations: ...


class Caller(Protocol):
    """What the confirmation flow reads of a call; `OpContext` (bot/core/context.py) has all of it.

    A Protocol rather than OpContext itself: context imports deps, and deps builds Confirmations,
    so importing context here (even only for type checking) would close an import circle.
    It is a dataclass (`execute` derives the run's context with `dataclasses.replace`).
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def user_id(self) -> str: ...

    @property
    def channel_id(self) -> str | None: ...

    @property
    def request_id(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def t(self) -> Catalog: ...

    @property
    def prefix(self) -> str: ...

    @property
    def update(self) -> Callable[[Result], Awaitable[None]]: ...

    @property
    def deps(self) -> _HasConfirmations: ...


log = logging.getLogger(__name__)


class Poster(Protocol):
    """What telling a requester about an interrupted step needs of the escalation's notifier
    (injected at start-up: the confirmation flow sits below the incidents layer)."""

    async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str: ...


DEFAULT_TTL = timedelta(minutes=5)
KEEP_FINISHED = 24 * 3600
STORE_TIMEOUT = 2.0
AUDIT_TIMEOUT = 8.0
"""An audit write's bound: the pool's connect timeout plus a statement."""
CLICK_TIMEOUT = 30.0
"""The bound of what a click does before the step starts (load, role check, stores, the move)."""
PROGRESS_INTERVAL = 1.0
State = Literal["pending", "awaiting_approval", "running", "done", "failed", "cancelled", "interrupted"]
UPDATE_TIMEOUT = 10.0
"""The bound of a message edit the flow makes itself (on shutdown, on recovery)."""
DRAIN_BOOKKEEPING = 30.0
TARGET_WAIT = 600.0
"""How long a `when_busy="wait"` step waits for the step holding its target before it gives up."""
TARGET_POLL = 1.0
"""After the grace: time for stopped steps to be killed (5 s TERM + 5 s KILL), recorded and shown."""

# Moves a pending action from one state to the next, atomically, if the actor may.
# mode: "requester" (actor must be the requester), "other" (must not be), "any".
_TRANSITION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local rec = cjson.decode(raw)
local allowed = false
for state in string.gmatch(ARGV[1], '[^,]+') do
  if rec.state == state then allowed = true end
end
if not allowed then return {'state', raw} end
if ARGV[3] == 'requester' and rec.requester ~= ARGV[4] then return {'not_requester', raw} end
if ARGV[3] == 'other' and rec.requester == ARGV[4] then return {'same_person', raw} end
rec.state = ARGV[2]
local patch = cjson.decode(ARGV[6])
for k, v in pairs(patch) do rec[k] = v end
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out, 'EX', tonumber(ARGV[5]))
return {'ok', out}
"""


class PendingAction(BaseModel):
    id: str
    operation: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    requester: str
    channel_id: str | None = None
    level: Literal["confirm", "critical"]
    state: State = "pending"
    request_id: str
    created_at: float
    expires_at: float
    confirmed_at: float | None = None
    approved_by: str | None = None
    cancelled_by: str | None = None
    detail: str | None = None
    owner: str | None = None
    """The replica running the step (set with the move to running)."""
    lease_until: float | None = None
    """Until when the owner is trusted to be alive; it renews this while the step runs."""


@dataclass
class Transition:
    outcome: str
    action: PendingAction | None


class Confirmations:
    """The one confirmation mechanism, for typed commands, buttons and the terminal alike."""

    def __init__(self, deps: Any) -> None:
        self.deps = deps
        self._script: Any = None
        self.leases = Leases(lambda: self.redis, deps.settings.redis_prefix, deps.settings.step_lease_seconds)
        self.spool = AuditSpool(lambda: self.redis, f"{deps.settings.redis_prefix}audit:spool")
        self.locks = TargetLocks(
            lambda: self.redis, deps.settings.redis_prefix, deps.settings.step_lease_seconds, self.leases.owner
        )
        self.notifier: Poster | None = None
        self.draining = False
        self._steps: dict[str, asyncio.Future[Result]] = {}
        self._executions: set[asyncio.Future[None]] = set()

    @property
    def redis(self) -> aioredis.Redis:
        return self.deps.redis  # type: ignore[no-any-return]

    @property
    def ttl(self) -> int:
        return int((self.deps.config.confirm_ttl or DEFAULT_TTL).total_seconds())

    def key(self, action_id: str) -> str:
        return f"{self.deps.settings.redis_prefix}confirm:{action_id}"

    # ---- stores, failing closed -------------------------------------------------------

    async def ensure_stores(self, ctx: Caller, op_name: str) -> None:
        """Refuse a destructive step when its record (Redis) or its audit (Postgres) is unreachable."""
        try:
            await asyncio.wait_for(self.redis.ping(), STORE_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError(
                part=ctx.t("part.redis"), operation=f"{ctx.prefix} {op_name}", detail=short_error(exc)
            ) from None
        try:
            await asyncio.wait_for(self.deps.db.ping(), STORE_TIMEOUT + 3)
        except (UnavailableError, TimeoutError) as exc:
            raise UnavailableError(
                part=ctx.t("part.database"), operation=f"{ctx.prefix} {op_name}", detail=short_error(exc)
            ) from None

    async def _audit(self, ctx: Caller, action: PendingAction, decision: str, outcome: str, detail: str = "") -> None:
        """One audit row of this action; UnavailableError when it cannot be written, whatever the
        reason (down, hung, read-only after a failover)."""
        try:
            await asyncio.wait_for(
                self.deps.audit.record(self._entry(ctx, action, decision, outcome, detail)), AUDIT_TIMEOUT
            )
        except UnavailableError:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise UnavailableError(
                part=ctx.t("part.database"), operation=action.operation, detail=short_error(exc)
            ) from None

    def _entry(self, ctx: Caller, action: PendingAction, decision: str, outcome: str, detail: str = "") -> AuditEntry:
        return AuditEntry(
            request_id=action.request_id,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            source=ctx.source,
            operation=action.operation,
            arguments={**action.arguments, "confirmation": action.id},
            decision=decision,
            outcome=outcome,
            detail=detail or None,
        )

    async def load(self, action_id: str) -> PendingAction | None:
        raw = await asyncio.wait_for(self.redis.get(self.key(action_id)), STORE_TIMEOUT)
        return PendingAction.model_validate_json(raw) if raw else None

    async def _move(
        self, action_id: str, from_states: str, to_state: State, mode: str, actor: str, ttl: int, **patch: Any
    ) -> Transition:
        if self._script is None:
            self._script = self.redis.register_script(_TRANSITION)
        answer = await asyncio.wait_for(
            self._script(keys=[self.key(action_id)], args=[from_states, to_state, mode, actor, ttl, json.dumps(patch)]),
            STORE_TIMEOUT,
        )
        outcome = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        raw = answer[1]
        action = PendingAction.model_validate_json(raw) if raw else None
        return Transition(outcome, action)

    # ---- the flow ---------------------------------------------------------------------

    async def request(self, ctx: Caller, op: Operation, args: OpArgs) -> Result:
        """Show the preview and park the action until its requester confirms."""
        await self.ensure_stores(ctx, op.name)
        preview = await asyncio.wait_for(op.preview(ctx, args), op.timeout) if op.preview else None
        if preview is not None and not preview.ok:
            return preview  # the preview found it cannot be done: nothing is parked
        now = time.time()
        action = PendingAction(
            id=new_id(16),
            operation=op.name,
            arguments=args.model_dump(mode="json"),
            requester=ctx.user_id,
            channel_id=ctx.channel_id,
            level="critical" if op.destructive == "critical" else "confirm",
            request_id=ctx.request_id,
            created_at=now,
            expires_at=now + self.ttl,
        )
        try:
            stored = await asyncio.wait_for(
                self.redis.set(self.key(action.id), action.model_dump_json(), ex=self.ttl, nx=True), STORE_TIMEOUT
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError(part=ctx.t("part.redis"), operation=op.name, detail=short_error(exc)) from None
        if not stored:
            raise ConfirmationError("confirm.collision")
        try:
            await self._audit(ctx, action, "requested", "pending")
        except UnavailableError:
            with contextlib.suppress(RedisError, OSError, TimeoutError):  # unaudited, so never confirmable
                await asyncio.wait_for(self.redis.delete(self.key(action.id)), STORE_TIMEOUT)
            raise
        message = self.pending_message(ctx, op, action, preview)
        busy = await self._busy_note(ctx, op, action)
        if busy is not None:
            message.blocks.insert(len(message.blocks) - 2, Text(busy))
        return message

    # ---- target locks: one step per target ----------------------------------------------

    def targets(self, op: Operation, action: PendingAction) -> tuple[str, ...]:
        return targets_of(op.touches, action.arguments)

    def target_name(self, t: Catalog, target: str) -> str:
        kind, _, name = target.partition(":")
        return t(f"targets.name.{kind}", name=name) if kind in _TARGET_KINDS else target

    def _holder_fields(self, t: Catalog, holder: Holder) -> dict[str, str]:
        tz = times.zone(self.deps.config.timezone)
        since = times.local(datetime.fromtimestamp(holder.since, UTC), tz, "%H:%M:%S")
        return {
            "command": holder.command,
            "user": holder.person,
            "target": self.target_name(t, holder.target),
            "since": since,
        }

    async def _busy_note(self, ctx: Caller, op: Operation, action: PendingAction) -> str | None:
        """What the preview says when a target is held now: whether confirming will wait or be refused."""
        try:
            holders = await self.locks.holders(self.targets(op, action))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("target locks not read for the preview: %s", short_error(exc))
            return None
        if not holders:
            return None
        return ctx.t(f"targets.preview_{op.when_busy}", **self._holder_fields(ctx.t, holders[0]))

    async def _claim_targets(
        self, ctx: Caller, op: Operation, action: PendingAction, back_to: State, **restore: Any
    ) -> None:
        """Take the step's targets right after its move to running, or undo the move.

        Taken after the move, so a second click of the same confirmation (which loses the move)
        never touches the locks. A held target refuses a `refuse` step (the confirmation goes
        back to where it was: the same button works once the holder ends); a `wait` step goes
        on and waits in `_execute`, its place kept."""
        targets = self.targets(op, action)
        command = self.command_text(ctx, op, action)
        try:
            holder = await self.locks.acquire(targets, action.id, command, action.requester)
        except (RedisError, OSError, TimeoutError) as exc:
            await self._undo(action, back_to, ctx.user_id, restore)
            raise UnavailableError(part=ctx.t("part.redis"), operation=op.name, detail=short_error(exc)) from None
        if holder is not None and op.when_busy == "refuse":
            await self._undo(action, back_to, ctx.user_id, restore)
            raise ConfirmationError("targets.busy_refused", this=command, **self._holder_fields(ctx.t, holder))

    async def _undo(self, action: PendingAction, back_to: State, actor: str, restore: dict[str, Any]) -> None:
        try:
            await self._move(action.id, action.state, back_to, "any", actor, self.ttl, **restore)
        except (RedisError, OSError, TimeoutError) as undo:
            log.error("could not undo the move of %s: %s", action.id, short_error(undo))

    async def _wait_for_targets(
        self, ctx: Caller, op: Operation, action: PendingAction, show: Callable[[Result], Awaitable[None]], base: Result
    ) -> None:
        """Hold every target before the step starts: a `wait` step waits here (its message says for
        whom), at most TARGET_WAIT; a `refuse` step already holds them from its click."""
        targets = self.targets(op, action)
        command = self.command_text(ctx, op, action)
        deadline = time.monotonic() + TARGET_WAIT
        shown: str | None = None
        while True:
            try:
                holder = await self.locks.acquire(targets, action.id, command, action.requester)
            except (RedisError, OSError, TimeoutError) as exc:
                raise UnavailableError(part=ctx.t("part.redis"), operation=op.name, detail=short_error(exc)) from None
            if holder is None:
                return
            fields = self._holder_fields(ctx.t, holder)
            if time.monotonic() >= deadline:
                raise ConfirmationError("targets.still_busy", minutes=f"{TARGET_WAIT / 60:g}", **fields)
            if holder.action != shown:
                shown = holder.action
                await show(Result(title=base.title, blocks=[*base.blocks, Text(ctx.t("targets.waiting", **fields))]))
            await asyncio.sleep(TARGET_POLL)

    def pending_message(self, ctx: Caller, op: Operation, action: PendingAction, preview: Result | None) -> Result:
        t = ctx.t
        blocks: list[Block] = (
            list(preview.blocks)
            if preview
            else [Text(t("confirm.generic", command=self.command_text(ctx, op, action)))]
        )
        minutes = max(1, round(self.ttl / 60))
        note = t(
            "confirm.pending_critical" if action.level == "critical" else "confirm.pending",
            user=action.requester,
            minutes=minutes,
        )
        blocks.append(Text(note))
        danger = action.level == "critical"
        blocks.append(
            Buttons(
                [
                    Button(
                        t("confirm.button.confirm"),
                        f"{ctx.prefix} confirm {action.id}",
                        style="danger" if danger else "primary",
                        confirm_title=t("confirm.dialog.title"),
                        confirm_text=t("confirm.dialog.text", command=self.command_text(ctx, op, action)),
                    ),
                    Button(t("confirm.button.cancel"), f"{ctx.prefix} cancel {action.id}"),
                ]
            )
        )
        title = (
            preview.title
            if preview and preview.title
            else t("confirm.title", command=self.command_text(ctx, op, action))
        )
        return Result(title=title, blocks=blocks, summary=note)

    @staticmethod
    def command_text(ctx: Caller, op: Operation, action: PendingAction) -> str:
        shown = " ".join(str(v) for v in action.arguments.values() if v not in (None, False, ""))
        return f"{ctx.prefix} {op.name} {shown}".strip()

    def _operation(self, action: PendingAction) -> Operation:
        op = self.deps.registry.get(action.operation)
        if op is None:
            raise ConfirmationError("confirm.unknown_operation", operation=action.operation)
        return op  # type: ignore[no-any-return]

    async def _refuse_transition(self, ctx: Caller, action_id: str, move: Transition) -> ConfirmationError:
        action = move.action
        if move.outcome == "missing" or action is None:
            return ConfirmationError("confirm.expired")
        if move.outcome == "not_requester":
            return ConfirmationError("confirm.not_requester", user=action.requester)
        if move.outcome == "same_person":
            return ConfirmationError("confirm.same_person")
        return ConfirmationError(f"confirm.state.{action.state}", user=action.approved_by or action.requester)

    async def _check_role(self, ctx: Caller, op: Operation, need_admin: bool = False) -> None:
        role = await self.deps.roles.role_of(ctx.user_id)
        needed = "admin" if need_admin else self.deps.roles.required(op)
        if rank(role) < rank(needed) or not self.deps.roles.allows(role, op):
            raise await self.deps.roles.refusal(ctx.t, f"{ctx.prefix} {op.name}", needed, role)

    async def confirm(self, ctx: Caller, action_id: str) -> Result:
        """The requester's yes: a critical step then waits for a second admin, any other runs now.

        Only the click's own checks are bounded by CLICK_TIMEOUT; the step itself runs under its
        operation's timeout (`execute`), however long the click's operation may take."""
        async with asyncio.timeout(CLICK_TIMEOUT):
            op, action = await self._confirm(ctx, action_id)
        if action.level == "critical":
            return self.awaiting_message(ctx, op, action)
        return await self.execute(ctx, op, action)

    async def _confirm(self, ctx: Caller, action_id: str) -> tuple[Operation, PendingAction]:
        action = await self._load_or_expired(ctx, action_id)
        op = self._operation(action)
        await self._check_role(ctx, op)
        await self.ensure_stores(ctx, op.name)
        target: State = "awaiting_approval" if action.level == "critical" else "running"
        ttl = self.ttl if target == "awaiting_approval" else KEEP_FINISHED
        self._refuse_while_draining()
        owner: dict[str, Any] = (
            {} if target != "running" else {"owner": self.leases.owner, "lease_until": self.leases.until()}
        )
        move = await self._move(
            action_id, "pending", target, "requester", ctx.user_id, ttl, confirmed_at=time.time(), **owner
        )
        if move.outcome != "ok" or move.action is None:
            raise await self._refuse_transition(ctx, action_id, move)
        action = move.action
        if target == "running":
            await self._claim_targets(ctx, op, action, "pending", confirmed_at=None, owner=None, lease_until=None)
        try:
            await self._audited_or_undone(
                ctx, op, action, "confirmed", back_to="pending", confirmed_at=None, owner=None, lease_until=None
            )
        except ConfirmationError:
            await self.locks.release(self.targets(op, action), action.id)
            raise
        return op, action

    def _refuse_while_draining(self) -> None:
        if self.draining:
            raise ConfirmationError("confirm.shutting_down")

    async def _audited_or_undone(
        self, ctx: Caller, op: Operation, action: PendingAction, decision: str, back_to: State, **restore: Any
    ) -> None:
        """Audit the move just made, or undo it: a move nobody can prove happened is not made.

        After a database failover (read-only), a stopped or a hung database, the step stays where
        it was, the user is told it did not run and that the same button works again. Were the
        move left in place, the record would say `running` for a day with nothing running."""
        try:
            await self._audit(ctx, action, decision, "ok")
        except UnavailableError as exc:
            try:
                await self._move(action.id, action.state, back_to, "any", ctx.user_id, self.ttl, **restore)
            except (RedisError, OSError, TimeoutError) as undo:
                log.error("could not undo the unaudited move of %s: %s", action.id, short_error(undo))
            raise ConfirmationError(
                "confirm.audit_failed_not_run",
                command=self.command_text(ctx, op, action),
                detail=exc.fields.get("detail", ""),
            ) from None

    def awaiting_message(self, ctx: Caller, op: Operation, action: PendingAction) -> Result:
        t = ctx.t
        command = self.command_text(ctx, op, action)
        return Result(
            title=t("confirm.title", command=command),
            blocks=[
                Fields(
                    [
                        (t("confirm.field.requested_by"), action.requester),
                        (t("confirm.field.state"), t("confirm.awaiting")),
                    ]
                ),
                Text(t("confirm.awaiting_detail", user=action.requester)),
                Buttons(
                    [
                        Button(
                            t("confirm.button.approve"),
                            f"{ctx.prefix} approve {action.id}",
                            style="danger",
                            confirm_title=t("confirm.dialog.title"),
                            confirm_text=t("confirm.dialog.text", command=command),
                        ),
                        Button(t("confirm.button.reject"), f"{ctx.prefix} cancel {action.id}"),
                    ]
                ),
            ],
            replace_original=True,
            summary=t("confirm.awaiting_detail", user=action.requester),
        )

    async def approve(self, ctx: Caller, action_id: str) -> Result:
        """A second admin's yes to a critical step: it runs now, under its own operation's timeout."""
        async with asyncio.timeout(CLICK_TIMEOUT):
            op, action = await self._approve(ctx, action_id)
        return await self.execute(ctx, op, action)

    async def _approve(self, ctx: Caller, action_id: str) -> tuple[Operation, PendingAction]:
        action = await self._load_or_expired(ctx, action_id)
        op = self._operation(action)
        if action.requester == ctx.user_id:
            raise ConfirmationError("confirm.same_person")
        await self._check_role(ctx, op, need_admin=True)
        await self.ensure_stores(ctx, op.name)
        self._refuse_while_draining()
        move = await self._move(
            action_id,
            "awaiting_approval",
            "running",
            "other",
            ctx.user_id,
            KEEP_FINISHED,
            approved_by=ctx.user_id,
            owner=self.leases.owner,
            lease_until=self.leases.until(),
        )
        if move.outcome != "ok" or move.action is None:
            raise await self._refuse_transition(ctx, action_id, move)
        restore: dict[str, Any] = {"approved_by": None, "owner": None, "lease_until": None}
        await self._claim_targets(ctx, op, move.action, "awaiting_approval", **restore)
        try:
            await self._audited_or_undone(ctx, op, move.action, "approved", back_to="awaiting_approval", **restore)
        except ConfirmationError:
            await self.locks.release(self.targets(op, move.action), move.action.id)
            raise
        return op, move.action

    async def cancel(self, ctx: Caller, action_id: str) -> Result:
        action = await self._load_or_expired(ctx, action_id)
        op = self._operation(action)
        if action.requester != ctx.user_id:
            # Someone else may only reject a critical step that awaits them, and only as an admin.
            if action.state != "awaiting_approval":
                raise ConfirmationError("confirm.not_requester", user=action.requester)
            await self._check_role(ctx, op, need_admin=True)
        move = await self._move(
            action_id,
            "pending,awaiting_approval",
            "cancelled",
            "any",
            ctx.user_id,
            KEEP_FINISHED,
            cancelled_by=ctx.user_id,
        )
        if move.outcome != "ok" or move.action is None:
            raise await self._refuse_transition(ctx, action_id, move)
        await self._audit(ctx, move.action, "cancelled", "cancelled")
        text = ctx.t("confirm.cancelled", command=self.command_text(ctx, op, move.action), user=ctx.user_id)
        return Result(title=ctx.t("confirm.cancelled_title"), blocks=[Text(text)], replace_original=True, summary=text)

    async def _load_or_expired(self, ctx: Caller, action_id: str) -> PendingAction:
        """The action, if it exists and was asked for in the channel this click or command comes from.

        A confirmation is bound to its channel: the people who saw the preview are the ones who
        see the step run, so a Confirm typed or clicked elsewhere is refused."""
        try:
            action = await self.load(action_id)
        except (RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError(part="Redis", operation="confirm", detail=short_error(exc)) from None
        if action is None:
            raise await self._gone(ctx, action_id)
        if action.channel_id != ctx.channel_id:
            raise ConfirmationError("confirm.wrong_channel", channel=action.channel_id or ctx.t("confirm.no_channel"))
        return action

    async def execute(self, ctx: Caller, op: Operation, action: PendingAction) -> Result:
        """Run the handler once; the message moves running → done | failed | interrupted and says who said yes.

        The step runs as a task of its own that `drain` can wait for and, past the shutdown
        grace, stop (its programs' process groups are killed on the way out); whatever ends
        it, the outcome is recorded, audited and returned here."""
        finished = asyncio.get_running_loop().create_future()
        self._executions.add(finished)
        try:
            return await self._execute(ctx, op, action)
        finally:
            self._executions.discard(finished)
            finished.set_result(None)

    async def _execute(self, ctx: Caller, op: Operation, action: PendingAction) -> Result:
        t = ctx.t
        command = self.command_text(ctx, op, action)
        people = [(t("confirm.field.requested_by"), action.requester)]
        if action.approved_by:
            people.append((t("confirm.field.approved_by"), action.approved_by))
        running = Result(
            title=t("confirm.title", command=command),
            blocks=[Fields([*people, (t("confirm.field.state"), t("confirm.running"))])],
            replace_original=True,
        )
        # The message is a view: its edits go out from a task of their own, so a slow or
        # rate-limited Slack never holds the step back (nor cuts it).
        view = DetachedUpdate(ctx.update)
        await view(running)
        args = op.args.model_validate(action.arguments, context={"config": self.deps.config, "t": t})
        started = time.perf_counter()
        last_shown = 0.0

        async def progress(line: str) -> None:
            # Slack allows about one update a second per message: show the newest line, drop the rest.
            nonlocal last_shown
            if time.monotonic() - last_shown < PROGRESS_INTERVAL:
                return
            last_shown = time.monotonic()
            await view(Result(title=running.title, blocks=[*running.blocks, Text(line)], replace_original=True))

        run_ctx = replace(ctx, progress=progress, update=view)
        targets = self.targets(op, action)

        async def run_step() -> Result:
            confirmed_step()  # its place in the long lane is kept from the click (bot/core/lanes.py)
            await self._wait_for_targets(ctx, op, action, view, running)
            return await asyncio.wait_for(op.handler(run_ctx, args), op.timeout)

        step = asyncio.ensure_future(run_step())
        self._steps[action.id] = step
        lease = asyncio.ensure_future(self.leases.keep(self.key(action.id)))
        held = asyncio.ensure_future(self.locks.keep(targets, action.id))
        result: Result | None = None
        click_cancelled = False
        try:
            try:
                result = await step
            finally:
                lease.cancel()
                held.cancel()
                self._steps.pop(action.id, None)
                await asyncio.shield(self.locks.release(targets, action.id))
            state: State = "done" if result.ok else "failed"
            detail = result.summary
        except asyncio.CancelledError:
            current = asyncio.current_task()
            # The click itself was cancelled (Ctrl-C in the shell, the bot stopping), and its step
            # with it: the step is still recorded as interrupted, audited and its view closed,
            # then the cancellation goes on.
            click_cancelled = current is not None and current.cancelling() > 0
            state, detail = "interrupted", t("confirm.interrupted_detail", seconds=f"{self.grace:g}")
        except TimeoutError:
            state, detail = "failed", t("error.timeout", operation=op.name, seconds=f"{op.timeout:g}")
        except Exception as exc:
            state = "failed"
            if isinstance(exc, BotError):
                detail = t(exc.key, **exc.fields)
            else:
                log.exception("destructive step %s failed (request %s)", op.name, action.request_id)
                detail = t("error.internal", error_id=action.request_id)
            detail = self.deps.redact(detail)
        elapsed = time.perf_counter() - started
        # From here on the step has run: whatever fails now is said next to its real outcome,
        # never instead of it.
        notes: list[str] = []
        try:
            # From `interrupted` too: a sweep may have released it during a long Redis outage
            # (no renewals); the step's real outcome then corrects the record.
            await self._move(
                action.id, "running,interrupted", state, "any", ctx.user_id, KEEP_FINISHED, detail=detail[:500]
            )
        except (RedisError, OSError, TimeoutError) as exc:
            log.error("record of the finished step %s (%s) not updated: %s", op.name, action.id, short_error(exc))
            notes.append(t("confirm.record_not_updated", part=t("part.redis"), detail=short_error(exc)))
        outcome = {"done": "ok", "failed": "failed"}.get(state, state)
        entry = self._entry(ctx, action, "executed", outcome, detail)
        entry.entry_id, entry.at = new_id(16), datetime.now(UTC)
        entry.verification = audit_record(result)
        unwritten = await write_or_keep(self.deps.audit, self.spool, entry, AUDIT_TIMEOUT)
        if unwritten is not None:
            log.error("audit row of the finished step %s (%s) kept for later: %s", op.name, action.id, unwritten)
            notes.append(t("confirm.audit_kept", detail=unwritten))
        # Only once the outcome is recorded: an edit still on its way may not overwrite the answer.
        await view.close()
        if click_cancelled:
            raise asyncio.CancelledError
        status = t(f"confirm.{state}", seconds=t.number(elapsed, 1))
        blocks: list[Any] = [Fields([*people, (t("confirm.field.state"), status)])]
        if result is not None:
            blocks.extend(result.blocks)
        else:
            blocks.append(Text(detail))
        blocks.extend(Text(note) for note in notes)
        title = result.title if result is not None and result.title else t("confirm.title", command=command)
        final = Result(title=title, blocks=blocks, ok=state == "done", replace_original=True, summary=detail or status)
        if self.draining:
            # The adapter may not get to post this once the process stops: say it from here too.
            try:
                await asyncio.wait_for(ctx.update(final), UPDATE_TIMEOUT)
            except Exception as exc:
                log.warning("final message of %s not shown: %s", action.id, short_error(exc))
        return final

    # ---- shutdown and recovery ----------------------------------------------------------

    async def drain(self, grace: float | None = None) -> None:
        """Stop taking clicks; let running steps end within `grace`, then stop the rest.

        Called on SIGTERM before anything is closed. A stopped step's programs are killed with
        their process groups (bot/procedures/steps.py), its record set to `interrupted`, an audit row
        written and its message edited: nothing is left `running` for the next replica to find."""
        self.draining = True
        grace = self.grace if grace is None else grace
        steps = list(self._steps.values())
        if steps:
            log.info("draining %d running step(s), up to %gs", len(steps), grace)
            _, late = await asyncio.wait(steps, timeout=grace)
            for step in late:
                step.cancel()
        if self._executions:
            await asyncio.wait(list(self._executions), timeout=DRAIN_BOOKKEEPING)

    @property
    def grace(self) -> float:
        return float(self.deps.settings.shutdown_grace_seconds)

    async def sweep(self) -> None:
        """Write the audit rows kept while the database was away, then release the running steps
        whose owner's lease ended (a replica that died mid-step). Runs on every replica."""
        written = await self.spool.flush(self.deps.audit)
        if written:
            log.info("%d kept audit row(s) written", written)
        for key, record in await self.leases.expired():
            action_id = key.rsplit(":", 1)[-1]
            if action_id in self._steps:
                continue  # ours and alive: a renewal was late (a Redis hiccup)
            executed = await self._executed_row(action_id)
            if executed is not None:
                outcome, detail = executed
                released = await self.leases.release(key, "done" if outcome == "ok" else "failed", detail)
                if released is not None:
                    log.info("record of %s set from its audit row: %s", action_id, outcome)
                continue
            t = Catalog(self.deps.config.locale)
            detail = t("confirm.interrupted_found_detail", owner=str(record.get("owner") or "?"))
            released = await self.leases.release(key, "interrupted", detail)
            if released is None:
                continue  # another replica won, or the owner renewed meanwhile
            action = PendingAction.model_validate(released)
            entry = AuditEntry(
                request_id=action.request_id,
                user_id=action.requester,
                channel_id=action.channel_id,
                source="recovery",
                operation=action.operation,
                arguments={**action.arguments, "confirmation": action.id},
                decision="executed",
                outcome="interrupted",
                detail=detail,
                entry_id=new_id(16),
                at=datetime.now(UTC),
            )
            await write_or_keep(self.deps.audit, self.spool, entry, AUDIT_TIMEOUT)
            await self._tell_interrupted(action, t)

    async def _gone(self, ctx: Caller, action_id: str) -> ConfirmationError:
        """Why a confirmation's record is not there: it ran (its record outlived KEEP_FINISHED, or the
        bot's Redis lost it) and the audit log says how, or it expired unconfirmed; when the audit
        log cannot be read, that the bot cannot tell, never "nothing was run"."""
        try:
            async with asyncio.timeout(AUDIT_TIMEOUT):
                async with self.deps.db.connection() as conn:
                    row = await conn.fetchrow(
                        "SELECT operation, arguments, user_id, at, outcome FROM audit_log WHERE decision = 'executed'"
                        " AND arguments->>'confirmation' = $1 ORDER BY id DESC LIMIT 1",
                        action_id,
                    )
        except (UnavailableError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            return ConfirmationError("confirm.gone_unknown", detail=short_error(exc), prefix=ctx.prefix)
        if row is None:
            return ConfirmationError("confirm.expired")
        arguments = json.loads(row["arguments"]) if isinstance(row["arguments"], str) else dict(row["arguments"])
        shown = " ".join(str(v) for k, v in arguments.items() if k != "confirmation" and v not in (None, False, ""))
        tz = times.zone(self.deps.config.timezone)
        return ConfirmationError(
            "confirm.already_ran",
            command=f"{ctx.prefix} {row['operation']} {shown}".strip(),
            user=row["user_id"],
            when=times.labelled(row["at"], tz, "%Y-%m-%d %H:%M:%S"),
            outcome=row["outcome"],
            prefix=ctx.prefix,
        )

    async def _executed_row(self, action_id: str) -> tuple[str, str] | None:
        """The outcome and detail of this confirmation's `executed` audit row, if there is one."""
        async with self.deps.db.connection() as conn:
            row = await conn.fetchrow(
                "SELECT outcome, coalesce(detail, '') AS detail FROM audit_log"
                " WHERE decision = 'executed' AND arguments->>'confirmation' = $1 ORDER BY id DESC LIMIT 1",
                action_id,
            )
        return (str(row["outcome"]), str(row["detail"])) if row else None

    async def _tell_interrupted(self, action: PendingAction, t: Catalog) -> None:
        if self.notifier is None or not action.channel_id:
            return
        prefix = self.deps.config.slack.command
        shown = " ".join(str(v) for v in action.arguments.values() if v not in (None, False, ""))
        command = f"{prefix} {action.operation} {shown}".strip()
        text = t("confirm.interrupted_found", user=action.requester, command=command)
        try:
            await asyncio.wait_for(
                self.notifier.post(action.channel_id, Result(title=command, blocks=[Text(text)], summary=text)),
                UPDATE_TIMEOUT,
            )
        except Exception as exc:
            log.warning("could not tell %s that %s was interrupted: %s", action.requester, action.id, short_error(exc))


_TARGET_KINDS = frozenset({"service", "database", "cache", "tenant-cache", "code", "tenant", "queue"})


class ActionIdArgs(OpArgs):
    id: str = positional(metavar="id", pattern=r"^[A-Za-z0-9_-]{8,40}$")


def _flow(ctx: Caller) -> Confirmations:
    return ctx.deps.confirmations


@operation("confirm", ActionIdArgs, hidden=True, self_timed=True)
async def confirm_op(ctx: Caller, args: ActionIdArgs) -> Result:
    """Confirm a destructive step you asked for."""
    return await _flow(ctx).confirm(ctx, args.id)


@operation("approve", ActionIdArgs, hidden=True, self_timed=True)
async def approve_op(ctx: Caller, args: ActionIdArgs) -> Result:
    """Approve a critical step someone else confirmed (admins)."""
    return await _flow(ctx).approve(ctx, args.id)


@operation("cancel", ActionIdArgs, hidden=True)
async def cancel_op(ctx: Caller, args: ActionIdArgs) -> Result:
    """Cancel a pending step (its requester) or reject a critical one (another admin)."""
    return await _flow(ctx).cancel(ctx, args.id)
