"""The App Home tab: each person's own view, without typing (commands.md's App Home paragraph):
who is on call now and next, their own next shift, open incidents, alerts firing, and the swap
and cover requests that wait for their answer.

Built as a `Result` (rendered to Block Kit by bot/output/slack.py's slack_sdk models, which keep
it within Slack's limits) and published with `views.publish`: when the person opens the tab
(bot/slack/app.py), and again for everyone who opened it lately when what it shows changes (the
hand-off watcher notices, bot/jobs/handoff.py, and queues a `home` step per person).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import asyncpg
from redis.exceptions import RedisError

from bot.core.deps import Deps
from bot.core.roles import rank
from bot.core.waiting import command_of, waiting_records
from bot.output.results import Block, Button, Buttons, Result, Text
from bot.output.slack import escape
from bot.text import times
from bot.text.messages import Catalog

AHEAD = timedelta(days=60)  # how far the person's own next shift is looked for
RECENT_VIEWERS = timedelta(days=30)
MAX_ITEMS = 10
MAX_WAITING = 10  # items with buttons: 2 blocks each, well within the renderer's 48


async def seen(deps: Deps, user: str) -> None:
    """Remember who opened the tab, so a change refreshes theirs."""
    async with deps.db.connection() as conn:
        now = await deps.incidents.now(conn)
        await conn.execute(
            "INSERT INTO oncall_home_viewers (user_id, opened_at) VALUES ($1, $2)"
            " ON CONFLICT (user_id) DO UPDATE SET opened_at = $2",
            user,
            now,
        )


async def viewers(conn: asyncpg.Connection, now: datetime) -> list[str]:
    rows = await conn.fetch("SELECT user_id FROM oncall_home_viewers WHERE opened_at > $1", now - RECENT_VIEWERS)
    return [r["user_id"] for r in rows]


async def state_digest(conn: asyncpg.Connection, on_call: dict[str, str | None]) -> str:
    """A digest of what every view shows in common: it changes when a view must be refreshed
    (and may come back to an earlier value: the watcher compares it with the last one only)."""
    incidents = await conn.fetch("SELECT id, state FROM incidents WHERE state <> 'resolved' ORDER BY id")
    alerts = await conn.fetch("SELECT id FROM alert_groups WHERE status = 'firing' ORDER BY id")
    requests = await conn.fetch("SELECT id, state FROM oncall_requests WHERE state = 'pending' ORDER BY id")
    text = repr(
        (
            sorted(on_call.items()),
            [tuple(r) for r in incidents],
            [r["id"] for r in alerts],
            [tuple(r) for r in requests],
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _name(deps: Deps, user: str | None, t: Catalog) -> str:
    if user is None:
        return t("oncall.gap")
    return f"<@{user}>"


async def home_view(deps: Deps, user: str, now: datetime) -> Result:
    """The person's own Home tab at `now`."""
    t = Catalog(deps.config.locale)
    store = deps.incidents.oncall
    me = next((c for c in deps.config.contacts if c.slack == user), None)
    tz = times.zone(me.timezone if me and me.timezone else deps.config.timezone)
    lines: list[str] = []
    mine: list[tuple[datetime, datetime, str]] = []
    async with deps.db.connection() as conn:
        for role in sorted(store.book.roles()):
            rota = store.book[role]
            overrides = await store.overrides(conn, role, now)
            current = rota.at(now, overrides)
            change = rota.next_change(now, overrides)
            upcoming = rota.at(change, overrides) if change else None
            nxt = (
                t("home.next", user=_name(deps, upcoming.user if upcoming else None, t), when=times.local(change, tz))
                if change
                else ""
            )
            lines.append(
                t("home.oncall_line", role=escape(role), user=_name(deps, current.user if current else None, t)) + nxt
            )
            for shift in rota.shifts(now, now + AHEAD, overrides):
                if shift.user == user:
                    mine.append((shift.start, shift.end, role))
                    break
        incidents = await conn.fetch(
            "SELECT id, severity, title, state FROM incidents WHERE state <> 'resolved' ORDER BY id LIMIT $1", MAX_ITEMS
        )
        firing = await conn.fetch(
            "SELECT coalesce(labels->>'alertname', group_key) AS name FROM alert_groups WHERE status = 'firing'"
            " ORDER BY first_seen DESC LIMIT $1",
            MAX_ITEMS,
        )
        waiting = await conn.fetch(
            "SELECT id, kind, role, asker FROM oncall_requests WHERE state = 'pending' AND asker <> $1"
            " AND (target = $1 OR (target IS NULL AND kind = 'cover')) ORDER BY id LIMIT $2",
            user,
            MAX_ITEMS,
        )
    blocks: list[Block] = [Text(t("home.oncall") + "\n" + ("\n".join(lines) or t("home.no_rotas")), markup=True)]
    if mine:
        start, end, role = min(mine)
        blocks.append(
            Text(
                t("home.your_shift", role=escape(role), span=f"{times.local(start, tz)} – {times.labelled(end, tz)}"),
                markup=True,
            )
        )
    else:
        blocks.append(Text(t("home.no_shift"), markup=True))
    open_lines = [
        f"• INC-{r['id']} {r['severity'].upper()} {escape(r['title'][:80])} ({t.code('incident.state', r['state'])})"
        for r in incidents
    ]
    blocks.append(Text(t("home.incidents") + "\n" + ("\n".join(open_lines) or t("oncall.handoff_none")), markup=True))
    alert_lines = [f"• {escape(str(r['name'])[:80])}" for r in firing]
    blocks.append(Text(t("home.alerts") + "\n" + ("\n".join(alert_lines) or t("oncall.handoff_none")), markup=True))
    blocks.append(Text(t("home.waiting"), markup=True))
    items = await _waiting_items(deps, user, list(waiting), t)
    blocks += items[: 2 * MAX_WAITING]
    if not items:
        blocks.append(Text(t("oncall.handoff_none"), markup=True))
    elif len(items) > 2 * MAX_WAITING:
        more = sum(isinstance(b, Buttons) for b in items[2 * MAX_WAITING :])
        blocks.append(Text(t("home.waiting_more", count=more, command=f"{deps.config.slack.command} pending")))
    return Result(title=t("home.title"), blocks=list(blocks), summary=t("home.title"))


async def _waiting_items(deps: Deps, user: str, requests: list[asyncpg.Record], t: Catalog) -> list[Block]:
    """What waits for this person, each as a line and its buttons: swap and cover requests
    addressed to them, their own steps not confirmed yet, and (admins) steps confirmed by
    someone else awaiting a second admin. The buttons run the same commands as the original
    messages' (bot/slack/home_click.py), so the role check and the state machine decide again;
    a confirmation's buttons carry the channel it was asked in, where it is bound."""
    prefix = deps.config.slack.command
    out: list[Block] = []
    for r in requests:
        line = t("home.request", kind=t(f"oncall.kind.{r['kind']}"), role=escape(r["role"]), asker=f"<@{r['asker']}>")
        out.append(Text("• " + line, markup=True))
        answer = f"{prefix} oncall answer {r['id']}"
        out.append(
            Buttons(
                [
                    Button(t("oncall.button.accept"), f"{answer} accept", style="primary"),
                    Button(t("oncall.button.decline"), f"{answer} decline"),
                ]
            )
        )
    try:
        records = await waiting_records(deps)
    except (RedisError, OSError, TimeoutError):
        out.append(Text(t("home.pending_unknown", command=f"{prefix} pending")))
        return out
    admin = rank(await deps.roles.role_of(user)) >= rank("admin")
    for record in records:
        ident, channel = str(record.get("id")), record.get("channel_id")
        command = escape(command_of(prefix, record))
        if record.get("requester") == user and record.get("state") == "pending":
            out.append(Text("• " + t("home.pending_mine", command=command), markup=True))
            buttons = [
                Button(t("confirm.button.confirm"), f"{prefix} confirm {ident}", style="primary", channel=channel),
                Button(t("confirm.button.cancel"), f"{prefix} cancel {ident}", channel=channel),
            ]
        elif admin and record.get("requester") != user and record.get("state") == "awaiting_approval":
            line = t("pending.awaiting_you", command=command, user=f"<@{record.get('requester')}>")
            out.append(Text("• " + line, markup=True))
            buttons = [
                Button(t("confirm.button.approve"), f"{prefix} approve {ident}", style="danger", channel=channel),
                Button(t("confirm.button.reject"), f"{prefix} cancel {ident}", channel=channel),
            ]
        else:
            continue
        out.append(Buttons(buttons))
    return out
