"""On-call rotas from Slack: who is on call now and next, the coming shifts, and the edits
(set, override, swap, cover). The rota engine is bot/oncall/rota.py; overrides and requests
live in the bot's Postgres (bot/storage/oncall.py); every message to another person (a swap or
cover request, an answer) is a queued notice the escalation worker sends once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from bot.core.argtypes import SlackUser, positional
from bot.core.context import OpContext
from bot.core.registry import OpArgs, operation
from bot.core.roles import rank
from bot.oncall.rota import CompiledRota, Shift
from bot.output.results import Block, Result, Table, Text
from bot.text import times
from bot.text.durations import parse_duration
from bot.text.errors import BotError

DEFAULT_SPAN = timedelta(days=14)
MAX_SPAN = timedelta(days=92)
MAX_ROWS = 80
SWAP_LOOKAHEAD = timedelta(days=56)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _wake(ctx: OpContext) -> None:
    worker = getattr(ctx.deps, "escalation", None)
    if worker is not None:
        worker.wake()


def _reader_zone(ctx: OpContext) -> ZoneInfo:
    """The reader's own zone (their contact's `timezone`), else ops.yml's."""
    me = next((c for c in ctx.config.contacts if c.slack == ctx.user_id), None)
    return times.zone(me.timezone if me and me.timezone else ctx.config.timezone)


def _rota_role(ctx: OpContext, role: str | None) -> str:
    """The rota named, or the only one; a clear error naming the rotas otherwise."""
    rotas = sorted(ctx.deps.incidents.oncall.book.roles())
    if role is None and len(rotas) == 1:
        return rotas[0]
    if role is None or role not in rotas:
        raise BotError("oncall.which_rota", roles=", ".join(rotas) or "—")
    return role


async def _now(ctx: OpContext) -> datetime:
    async with ctx.deps.db.connection() as conn:
        return await ctx.deps.incidents.now(conn)


def _name(ctx: OpContext, user: str | None) -> str:
    if user is None:
        return ctx.t("oncall.gap")
    known = next((c.name for c in ctx.config.contacts if c.slack == user), None)
    return f"{known} ({user})" if known else user


class OncallArgs(OpArgs):
    role: str | None = positional(None, metavar="role", max_length=40)


@operation("oncall", OncallArgs, role="viewer")
async def oncall(ctx: OpContext, args: OncallArgs) -> Result:
    """Who is on call now and who is next, for every rota (or one role)."""
    t = ctx.t
    store = ctx.deps.incidents.oncall
    roles = [_rota_role(ctx, args.role)] if args.role is not None and store.book.rotas else list(store.book.roles())
    tz = _reader_zone(ctx)
    rows: list[list[str]] = []
    async with ctx.deps.db.connection() as conn:
        now = await ctx.deps.incidents.now(conn)
        for role in sorted(roles):
            rota = store.book[role]
            overrides = await store.overrides(conn, role, now)
            current = rota.at(now, overrides)
            change = rota.next_change(now, overrides)
            upcoming = rota.at(change, overrides) if change else None
            rows.append(
                [
                    role,
                    _name(ctx, current.user if current else None),
                    _name(ctx, upcoming.user if upcoming else None) if change else "-",
                    times.local(change, tz) if change else "-",
                ]
            )
    for role, user in sorted((await ctx.deps.incidents.on_call()).items()):
        if role not in store.book and (args.role is None or args.role == role):
            rows.append([role, _name(ctx, user), "-", "-"])
    if not rows:
        return Result(title=t("oncall.title"), blocks=[Text(t("oncall.none"))])
    note = Text(t("time.zone_note", zone=times.zone_label(tz)))
    return Result(title=t("oncall.title"), blocks=[Table(t("oncall.now_columns").split("|"), rows), note])


class ScheduleArgs(OpArgs):
    role: str | None = positional(None, metavar="role", max_length=40)
    span: str | None = positional(None, metavar="2w", max_length=10)


def _span(text: str | None, ctx: OpContext) -> timedelta:
    if text is None:
        return DEFAULT_SPAN
    try:
        span = parse_duration(text)
    except ValueError:
        raise BotError("arg.bad_duration") from None
    if span <= timedelta(0) or span > MAX_SPAN:
        raise BotError("oncall.span_range", most=MAX_SPAN)
    return span


def _is_span(text: str | None) -> bool:
    try:
        return text is not None and parse_duration(text) > timedelta(0)
    except ValueError:
        return False


@operation("oncall schedule", ScheduleArgs, role="viewer")
async def oncall_schedule(ctx: OpContext, args: ScheduleArgs) -> Result:
    """The coming shifts of a rota, overrides included, in the reader's zone."""
    t = ctx.t
    role_text, span_text = args.role, args.span
    if span_text is None and _is_span(role_text):  # `/ops oncall schedule 2w`
        role_text, span_text = None, role_text
    role = _rota_role(ctx, role_text)
    span = _span(span_text, ctx)
    store = ctx.deps.incidents.oncall
    tz = _reader_zone(ctx)
    async with ctx.deps.db.connection() as conn:
        now = await ctx.deps.incidents.now(conn)
        shifts = store.book[role].shifts(now, now + span, await store.overrides(conn, role, now, now + span))
    rows = [
        [
            times.local(s.start, tz, "%a %Y-%m-%d %H:%M"),
            times.local(s.end, tz, "%a %Y-%m-%d %H:%M"),
            _name(ctx, s.user),
            s.layer,
        ]
        for s in shifts[:MAX_ROWS]
    ]
    blocks: list[Block] = [Table(t("oncall.schedule_columns").split("|"), rows)] if rows else []
    gaps = store.book[role].gaps(now, now + span, [])
    if not rows:
        blocks.append(Text(t("oncall.schedule_empty", role=role)))
    elif len(shifts) > MAX_ROWS:
        blocks.append(Text(t("oncall.schedule_more", count=len(shifts) - MAX_ROWS)))
    blocks.append(Text(t("time.zone_note", zone=times.zone_label(tz))))
    title = t("oncall.schedule_title", role=role, span=span)
    return Result(title=title, blocks=blocks, summary=title + (" " + t("oncall.has_gaps") if gaps else ""))


class OncallSetArgs(OpArgs):
    user: SlackUser = positional(metavar="@user")
    role: str | None = positional(None, metavar="role", max_length=40)


@operation("oncall set", OncallSetArgs, role="admin")
async def oncall_set(ctx: OpContext, args: OncallSetArgs) -> Result:
    """Hand the current shift over now (an override until the next hand-off)."""
    t = ctx.t
    current = await ctx.deps.incidents.on_call()
    roles = sorted(
        {c.role for c in ctx.config.contacts if c.on_call} | set(current) | set(ctx.deps.incidents.oncall.book.roles())
    )
    role = args.role
    if role is None:
        if len(roles) != 1:
            raise BotError("oncall.which_role", roles=", ".join(roles) or "—")
        role = roles[0]
    elif role not in {c.role for c in ctx.config.contacts}:
        raise BotError("oncall.which_role", roles=", ".join(sorted({c.role for c in ctx.config.contacts})))
    if current.get(role) == args.user:
        text = t("oncall.already", user=args.user, role=role)
        return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)
    previous, until = await ctx.deps.incidents.hand_over(role, args.user, ctx.user_id)
    _wake(ctx)
    text = t("oncall.set", user=args.user, role=role, previous=previous or t("oncall.nobody"))
    if until is not None:
        text += " " + t("oncall.set_until", until=times.labelled(until, _reader_zone(ctx)))
    return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)


def _moment(text: str, base: datetime, tz: ZoneInfo) -> datetime:
    """A duration after `base` (`2h`), a time of day (the next `18:00` after `base`), or a date
    and time (`2026-12-24T18:00`, `2026-12-24`), in the reader's zone."""
    clock = _CLOCK.match(text)
    if clock and int(clock[1]) < 24 and int(clock[2]) < 60:
        local = base.astimezone(tz)
        at = datetime.combine(local.date(), time(int(clock[1]), int(clock[2])), tz)
        return at if at > base else datetime.combine(local.date() + timedelta(days=1), at.timetz())
    try:
        return base + parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BotError("oncall.bad_when", text=text[:30]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


class OverrideArgs(OpArgs):
    user: SlackUser = positional(metavar="@user")
    rest: str = positional(metavar="[from] <until|2h> [role]", greedy=True, max_length=80)


@operation("oncall override", OverrideArgs, role="viewer")
async def oncall_override(ctx: OpContext, args: OverrideArgs) -> Result:
    """Someone covers part of a shift (from now unless `from` is given); your own shift, or any as admin."""
    t = ctx.t
    store = ctx.deps.incidents.oncall
    words = args.rest.split()
    role_text = words.pop() if words and words[-1] in store.book else None
    role = _rota_role(ctx, role_text)
    if len(words) not in (1, 2):
        raise BotError("oncall.override_usage")
    tz = _reader_zone(ctx)
    now = await _now(ctx)
    start = _moment(words[0], now, tz) if len(words) == 2 else now
    end = _moment(words[-1], start, tz)
    start = max(start, now)
    if end <= start:
        raise BotError("oncall.override_order")
    rota = store.book[role]
    async with ctx.deps.db.connection() as conn, conn.transaction():
        if rank(ctx.role) < rank("admin"):
            holder = rota.at(start, await store.overrides(conn, role, start, start))
            if holder is None or holder.user != ctx.user_id:
                raise BotError("oncall.not_your_shift", role=role)
        await _tell_displaced(ctx, conn, role, (start, end), args.user)
        await store.add_override(conn, role, args.user, start, end, ctx.user_id)
        if args.user != ctx.user_id:
            text = t("oncall.override_notice", by=f"<@{ctx.user_id}>", role=role, span=_span_text(start, end, tz))
            await ctx.deps.incidents.queue_notice(conn, args.user, text)
    _wake(ctx)
    text = t("oncall.override_done", user=args.user, role=role, span=_span_text(start, end, tz))
    return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)


async def _tell_displaced(
    ctx: OpContext, conn: asyncpg.Connection, role: str, span: tuple[datetime, datetime], user: str
) -> None:
    """Everyone whose shift an edit takes (other than the one who made it) gets a DM saying which
    part of their shift is now someone else's: an override must not move a shift silently."""
    store = ctx.deps.incidents.oncall
    rota = store.book[role]
    before = rota.shifts(*span, await store.overrides(conn, role, *span))
    for shift in before:
        if shift.user in (user, ctx.user_id):
            continue
        tz = times.zone(
            next((c.timezone for c in ctx.config.contacts if c.slack == shift.user and c.timezone), None)
            or ctx.config.timezone
        )
        text = ctx.t(
            "oncall.moved",
            role=role,
            span=_span_text(shift.start, shift.end, tz),
            user=f"<@{user}>",
            by=f"<@{ctx.user_id}>",
        )
        await ctx.deps.incidents.queue_notice(conn, shift.user, text)


def _span_text(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    return f"{times.local(start, tz)} – {times.labelled(end, tz)}"


class SwapArgs(OpArgs):
    user: SlackUser = positional(metavar="@user")
    day: str = positional(metavar="date", max_length=20)
    role: str | None = positional(None, metavar="role", max_length=40)


def _first_of(shifts: list[Shift], user: str, after: datetime | None = None) -> Shift | None:
    return next((s for s in shifts if s.user == user and (after is None or s.start >= after)), None)


@operation("oncall swap", SwapArgs, role="viewer")
async def oncall_swap(ctx: OpContext, args: SwapArgs) -> Result:
    """Ask @user to swap shifts: your shift on `date` for their next one after it; they get Accept / Decline."""
    t = ctx.t
    store = ctx.deps.incidents.oncall
    role = _rota_role(ctx, args.role)
    tz = _reader_zone(ctx)
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise BotError("oncall.bad_date", text=args.day[:20]) from None
    if args.user == ctx.user_id:
        raise BotError("oncall.swap_self")
    rota: CompiledRota = store.book[role]
    async with ctx.deps.db.connection() as conn, conn.transaction():
        now = await ctx.deps.incidents.now(conn)
        day_start = max(datetime.combine(day, time(0), tz), now)
        horizon = day_start + timedelta(days=1) + SWAP_LOOKAHEAD
        shifts = rota.shifts(day_start, horizon, await store.overrides(conn, role, day_start, horizon))
        mine = _first_of(
            [s for s in shifts if s.start < datetime.combine(day + timedelta(days=1), time(0), tz)], ctx.user_id
        )
        if mine is None:
            raise BotError("oncall.no_shift_that_day", role=role, day=day.isoformat())
        theirs = _first_of(shifts, args.user, after=mine.end)
        back = (theirs.start, theirs.end) if theirs else None
        request = await store.ask(conn, "swap", role, ctx.user_id, args.user, (mine.start, mine.end), back)
        give = _span_text(mine.start, mine.end, tz)
        take = _span_text(theirs.start, theirs.end, tz) if theirs else t("oncall.swap_nothing_back")
        text = t("oncall.swap_ask", asker=f"<@{ctx.user_id}>", role=role, give=give, take=take)
        await ctx.deps.incidents.queue_notice(conn, args.user, text, _answer_buttons(ctx, request.id))
    _wake(ctx)
    text = t("oncall.swap_asked", user=args.user, give=give, take=take)
    return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)


def _answer_buttons(ctx: OpContext, request_id: int) -> list[tuple[str, str, str | None]]:
    return [
        (ctx.t("oncall.button.accept"), f"{ctx.prefix} oncall answer {request_id} accept", "primary"),
        (ctx.t("oncall.button.decline"), f"{ctx.prefix} oncall answer {request_id} decline", None),
    ]


class CoverArgs(OpArgs):
    span: str | None = positional(None, metavar="2h", max_length=10)
    role: str | None = positional(None, metavar="role", max_length=40)


@operation("oncall cover", CoverArgs, role="viewer")
async def oncall_cover(ctx: OpContext, args: CoverArgs) -> Result:
    """Ask the rest of the rota to cover your shift (from now); the first to accept takes it."""
    t = ctx.t
    store = ctx.deps.incidents.oncall
    span_text, role_text = args.span, args.role
    if role_text is None and span_text is not None and not _is_span(span_text):  # `/ops oncall cover devops`
        span_text, role_text = None, span_text
    role = _rota_role(ctx, role_text)
    rota = store.book[role]
    tz = _reader_zone(ctx)
    async with ctx.deps.db.connection() as conn, conn.transaction():
        now = await ctx.deps.incidents.now(conn)
        overrides = await store.overrides(conn, role, now)
        holder = rota.at(now, overrides)
        if holder is None or holder.user != ctx.user_id:
            raise BotError("oncall.not_your_shift", role=role)
        end = now + _span(span_text, ctx) if span_text else holder.end
        others = [m for m in rota.members if m != ctx.user_id]
        if not others:
            raise BotError("oncall.nobody_to_ask", role=role)
        request = await store.ask(conn, "cover", role, ctx.user_id, None, (now, end))
        span = _span_text(now, end, tz)
        text = t("oncall.cover_ask", asker=f"<@{ctx.user_id}>", role=role, span=span)
        for member in others:
            await ctx.deps.incidents.queue_notice(conn, member, text, _answer_buttons(ctx, request.id)[:1])
    _wake(ctx)
    text = t("oncall.cover_asked", count=len(others), span=span)
    return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)


class AnswerArgs(OpArgs):
    request: int = positional(metavar="request", ge=1)
    answer: str = positional(metavar="accept|decline", pattern="^(accept|decline)$")


@operation("oncall answer", AnswerArgs, role="viewer", hidden=True)
async def oncall_answer(ctx: OpContext, args: AnswerArgs) -> Result:
    """Answer a swap or cover request (its buttons run this)."""
    t = ctx.t
    store = ctx.deps.incidents.oncall
    accept = args.answer == "accept"
    async with ctx.deps.db.connection() as conn, conn.transaction():
        try:
            request, decided = await store.answer(conn, args.request, ctx.user_id, accept)
        except LookupError:
            raise BotError("oncall.no_request", id=args.request) from None
        if not decided and not (not accept and request.kind == "cover" and request.state == "pending"):
            if request.answered_by is not None and request.state == "accepted":
                raise BotError("oncall.already_taken", user=f"<@{request.answered_by}>")
            raise BotError("oncall.not_yours")
        key = "oncall.told_accepted" if accept else "oncall.told_declined"
        told = t(key, user=f"<@{ctx.user_id}>", kind=t(f"oncall.kind.{request.kind}"), role=request.role)
        await ctx.deps.incidents.queue_notice(conn, request.asker, told)
    _wake(ctx)
    text = t("oncall.answered_accept" if accept else "oncall.answered_decline", user=f"<@{request.asker}>")
    return Result(title=t("oncall.title"), blocks=[Text(text)], summary=text)
