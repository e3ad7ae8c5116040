"""Operations are declared once, with their argument model, least role and destructive level.

    @operation("logs", LogsArgs, role="viewer")
    async def logs(ctx: OpContext, args: LogsArgs) -> Result:
        '''Recent log lines of a service's container.'''

The decorator records an `Operation` in the registry and returns the function unchanged;
the dispatcher does parsing, role checks, confirmation, audit and rendering for all of them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.core.lanes import declare_long
from bot.core.target_locks import WhenBusy

if TYPE_CHECKING:
    from bot.output.results import Result

Destructive = Literal["none", "confirm", "critical"]
ROLE_ORDER = ("viewer", "operator", "admin")


class OpArgs(BaseModel):
    """Base of every argument model: unknown options are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class NoArgs(OpArgs):
    pass


# The context parameter is Any: each handler's own signature names OpContext, and importing
# OpContext here would close an import circle (context -> deps -> registry).
Handler = Callable[[Any, Any], Awaitable["Result"]]
Preview = Callable[[Any, Any], Awaitable["Result"]]
F = TypeVar("F", bound=Handler)


@dataclass
class Operation:
    """One runbook procedure as a command."""

    name: str
    args: type[OpArgs]
    role: str
    destructive: Destructive
    handler: Handler
    help: str
    preview: Preview | None = None
    timeout: float = 60.0
    aliases: tuple[str, ...] = ()
    hidden: bool = False
    any_channel: bool = False
    long: bool = False  # long-lived (a live tail, a migration): runs in the long lane, bot/core/lanes.py
    self_timed: bool = False
    """The handler bounds its own work, so the dispatcher does not cut it at `timeout`: a Confirm
    click runs the confirmed step under that step's operation's timeout (an hour for `db
    migrate`), not under the click's own."""
    touches: tuple[str, ...] = ()
    """What a destructive step changes, as target names filled from its arguments
    (`service:{service}`, `database`, `cache`): two steps touching one target never overlap
    (bot/core/target_locks.py)."""
    when_busy: WhenBusy = "refuse"
    """When a target it touches is held by another step: refuse the click, or wait for it."""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def usage(self, prefix: str = "/ops") -> str:
        """`/ops logs <service> [--tail N] …` built from the argument model; a variant named
        `logs --follow` reads `/ops logs <service> --follow [2m]`."""
        base, _, flag = self.name.partition(" --")
        parts = [prefix, base]
        for name, info in self.args.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            metavar = str(extra.get("metavar") or name.upper())
            if "bare" in extra:
                token = f"--{name.replace('_', '-')} [{metavar}]"
                token = token if name == flag.replace("-", "_") else f"[{token}]"
            elif extra.get("positional"):
                metavar = str(extra.get("metavar", name))
                token = f"<{metavar}>" if info.is_required() else f"[{metavar}]"
                if extra.get("greedy"):
                    token = token[:-1] + "…" + token[-1]
            elif info.annotation is bool:
                token = f"[--{name.replace('_', '-')}]"
            else:
                metavar = str(extra.get("metavar") or name.upper())
                token = f"[--{name.replace('_', '-')} {metavar}]"
            parts.append(token)
        return " ".join(parts)


@dataclass
class Registry:
    """Every operation by name; the single source for help, parsing and the role matrix."""

    operations: dict[str, Operation] = field(default_factory=dict)

    def add(self, op: Operation) -> None:
        for name in (op.name, *op.aliases):
            if name in self.operations:
                raise ValueError(f"operation {name!r} declared twice")
            if op.role not in ROLE_ORDER:
                raise ValueError(f"operation {name!r}: unknown role {op.role!r}")
            self.operations[name] = op

    def get(self, name: str) -> Operation | None:
        return self.operations.get(name)

    def __iter__(self) -> Iterator[Operation]:
        seen: set[int] = set()
        for op in self.operations.values():
            if id(op) not in seen:
                seen.add(id(op))
                yield op

    def names(self) -> list[str]:
        return list(self.operations)


REGISTRY = Registry()


def command_names(registry: Registry = REGISTRY) -> dict[str, str]:
    """Every name a command can be typed with (aliases too) → its operation's own name."""
    return {name: op.name for name, op in registry.operations.items()}


def operation(
    name: str,
    args: type[OpArgs] = NoArgs,
    *,
    role: str = "viewer",
    destructive: Destructive = "none",
    timeout: float = 60.0,
    aliases: tuple[str, ...] = (),
    hidden: bool = False,
    any_channel: bool = False,
    long: bool = False,
    self_timed: bool = False,
    touches: tuple[str, ...] = (),
    when_busy: WhenBusy = "refuse",
    registry: Registry | None = None,
) -> Callable[[F], F]:
    """Declare `func` as the operation `name`; its docstring's first line is its help."""

    def decorate(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        help_line = doc.strip().splitlines()[0] if doc.strip() else name
        op = Operation(
            name=name,
            args=args,
            role=role,
            destructive=destructive,
            handler=_in_long_lane(func) if long else func,
            help=help_line,
            timeout=timeout,
            aliases=aliases,
            hidden=hidden,
            any_channel=any_channel,
            long=long,
            self_timed=self_timed,
            touches=touches,
            when_busy=when_busy,
        )
        (registry or REGISTRY).add(op)
        func.__ops_operation__ = op  # type: ignore[attr-defined]
        return func

    return decorate


def preview_for(name: str, registry: Registry | None = None) -> Callable[[F], F]:
    """Attach the side-effect-free preview that a destructive operation shows before its confirmation."""

    def decorate(func: F) -> F:
        op = (registry or REGISTRY).get(name)
        if op is None:
            raise ValueError(f"preview for unknown operation {name!r}")
        op.preview = func
        return func

    return decorate


FollowUp = Callable[[Any, Any, "Result"], Awaitable["Result"]]
"""Runs after an operation's handler with (ctx, args, its result) and returns the result to show."""


def follow_up(name: str, hook: FollowUp, registry: Registry | None = None) -> None:
    """Run `hook` after every run of operation `name` (typed, clicked or confirmed alike).

    For a look at the world once a step ran that another module owns, e.g. diagnose
    re-running its section after one of its remedies (handlers/remedy_recheck.py). The hook
    wraps the handler, so a preview never triggers it and the audit row records its result.
    """
    op = (registry or REGISTRY).get(name)
    if op is None:
        raise ValueError(f"follow-up for unknown operation {name!r}")
    inner = op.handler

    @functools.wraps(inner)
    async def run(ctx: Any, args: Any) -> Result:
        return await hook(ctx, args, await inner(ctx, args))

    op.handler = run


def _in_long_lane(func: Handler) -> Handler:
    """The handler as the registry runs it: first moved to the long lane (or refused there)."""

    @functools.wraps(func)
    async def run(ctx: Any, args: Any) -> Result:
        declare_long(ctx.user_id)
        return await func(ctx, args)

    return run
