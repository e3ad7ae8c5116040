"""`/ops incident report` and `incident note`: the record is written from the bot's own tables,
in order, with the right people and times, bounded, and never mixed with another incident's."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from confirm_flow import run_confirmed
from conftest import RuntimeFactory, base_config
from markdown_it import MarkdownIt
from slack_emulator import SlackEmulator

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.incidents.notify import SlackNotifier, slack_client_for_notices
from bot.output.results import Attachment, Result
from bot.output.slack import render_slack

POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
    - {notify: tech_lead}
    - {after: 1h, unless: acknowledged, notify: cto}
"""
TZ = ZoneInfo("America/Santiago")


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def tenant(target_db_url: str) -> AsyncIterator[str]:
    """A tenant row of this test's own in the stack's database, removed afterwards."""
    tenant_id = f"rpt{secrets.token_hex(4)}"
    conn = await asyncpg.connect(target_db_url, timeout=5)
    await conn.execute("INSERT INTO tenants VALUES ($1, 'Report test', true)", tenant_id)
    try:
        yield tenant_id
    finally:
        await conn.execute("DELETE FROM tenants WHERE id = $1", tenant_id)
        await conn.close()


async def start(
    make_runtime: RuntimeFactory, emu: SlackEmulator, db_url: str, target_db: str | None = None, locale: str = "en"
) -> Runtime:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    config = base_config(extra=POLICY, target_db=target_db, locale=locale)
    runtime = await make_runtime(config, database_url=db_url, notifier=notifier)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.poll = 0.1
    return runtime


async def run(runtime: Runtime, text: str, user: str, channel: str = "C0INCIDENTS") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, channel, "slack"))


def markdown_of(result: Result) -> str:
    (attachment,) = [b for b in result.blocks if isinstance(b, Attachment)]
    assert attachment.filename.endswith("-postmortem.md")
    return attachment.content.decode()


def timeline_rows(markdown: str) -> list[tuple[str, str, str]]:
    """The timeline table's rows as a Markdown parser reads them (time, who, what)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows: list[tuple[str, str, str]] = []
    cells: list[str] = []
    in_body = False
    for token in tokens:
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tbody_close":
            in_body = False
        elif in_body and token.type == "inline":
            cells.append(token.content)
        elif in_body and token.type == "tr_close":
            rows.append((cells[0], cells[1], cells[2]))
            cells = []
    return rows


def headings(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    return [tokens[i + 1].content for i, tok in enumerate(tokens) if tok.type == "heading_open"]


def index_of(rows: list[tuple[str, str, str]], needle: str, who: str | None = None) -> int:
    for i, (_, actor, what) in enumerate(rows):
        if needle in what and (who is None or who in actor):
            return i
    raise AssertionError(f"no timeline row with {needle!r} by {who}: {rows}")


def local(moment: datetime) -> str:
    return f"{moment.astimezone(TZ):%Y-%m-%d %H:%M:%S}"


async def test_the_report_holds_declare_pages_a_confirmed_step_ack_note_and_resolve_in_order(
    emu: SlackEmulator, fresh_db_url: str, target_db_url: str, tenant: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url, target_db=target_db_url)
    declared = await run(runtime, "incident declare sev1 Checkout can not reach the DB", "U0BACKEND", "C0DEV")
    assert declared.ok, declared
    await emu.wait_for("chat.postMessage", count=2, predicate=lambda c: str(c.args["channel"]).startswith("D"))
    done = await run_confirmed(runtime, f"tenant disable {tenant}", "U0ADMIN", channel="C0INCIDENTS")
    assert done.ok, done
    assert (await run(runtime, "incident ack INC-1", "U0DEVOPS")).ok
    noted = await run(runtime, "incident note INC-1 restarted the api by hand", "U0DEVOPS")
    assert noted.ok and "INC-1" in noted.summary
    resolved = await run(runtime, "incident resolve INC-1 pool size raised", "U0TECHLEAD")
    assert resolved.ok, resolved

    assert "postmortem draft" in str(resolved.blocks) and "Time to resolve" in str(resolved.blocks)
    # resolve posts the draft into the incident's thread by itself, as a file (a durable step)
    thread_ts = (await runtime.deps.incidents.get(1)).thread_ts  # type: ignore[union-attr]
    await emu.wait_for("files.completeUploadExternal", timeout=15)
    (posted,) = [f for f in emu.files if f.name == "inc-1-postmortem.md"]
    assert posted.thread_ts == thread_ts and posted.channel == "C0INCIDENTS"
    markdown = markdown_of(await run(runtime, "incident report INC-1", "U0TECHLEAD"))
    assert posted.text == markdown
    rows = timeline_rows(markdown)
    order = [
        index_of(rows, "declared SEV1: Checkout can not reach the DB", "U0BACKEND"),
        index_of(rows, "paged U0DEVOPS (devops)", "ops-bot"),
        index_of(rows, f"tenant disable {tenant}` — requested", "U0ADMIN"),
        index_of(rows, f"tenant disable {tenant}` — confirmed", "U0ADMIN"),
        index_of(rows, f"tenant disable {tenant}` — executed, ok", "U0ADMIN"),
        index_of(rows, "acknowledged", "U0DEVOPS"),
        index_of(rows, "note: restarted the api by hand", "U0DEVOPS"),
        index_of(rows, "resolved: pool size raised", "U0TECHLEAD"),
    ]
    assert order == sorted(order), rows
    assert "Marta Gil (U0DEVOPS)" in rows[order[5]][1], "people are named from the contact table"
    assert "🧵" in rows[order[4]][2], "a command run in the incident channel is marked"
    assert "U0CTO" in markdown and "not needed (acknowledged)" in markdown, "the CTO page that never went is said"

    conn = await asyncpg.connect(fresh_db_url, timeout=5)
    try:
        incident = await conn.fetchrow("SELECT declared_at, acknowledged_at, resolved_at FROM incidents WHERE id = 1")
        executed = await conn.fetchval(
            "SELECT at FROM audit_log WHERE decision = 'executed' AND operation = 'tenant disable'"
        )
        paged = await conn.fetchval(
            "SELECT fired_at FROM escalation_steps WHERE kind = 'page' AND payload->>'user' = 'U0DEVOPS'"
        )
    finally:
        await conn.close()
    assert rows[order[0]][0] == local(incident["declared_at"])
    assert rows[order[1]][0] == local(paged)
    assert rows[order[4]][0] == local(executed)
    assert rows[order[5]][0] == local(incident["acknowledged_at"])
    tta = int((incident["acknowledged_at"] - incident["declared_at"]).total_seconds())
    ttr = int((incident["resolved_at"] - incident["declared_at"]).total_seconds())
    assert f"Time to acknowledge: {tta // 60}m" in markdown or f"Time to acknowledge: {tta}s" in markdown
    assert (f"({tta} s)" in markdown) == (tta >= 60) and (f"({ttr} s)" in markdown) == (ttr >= 60)  # said once under 1m
    assert "Destructive steps run: 1 (ok 1)" in markdown
    assert headings(markdown)[-5:] == ["Impact", "Root cause", "What went well", "What went badly", "Action items"]

    thread = [str(c.args.get("text")) for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert any("restarted the api by hand" in text for text in thread) or await emu.wait_for(
        "chat.postMessage", predicate=lambda c: "restarted the api by hand" in str(c.args.get("text"))
    ), "the note is posted in the incident's thread"


async def test_a_second_incidents_commands_never_appear_in_the_first_ones_report(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    assert (await run(runtime, "incident declare sev1 First one", "U0BACKEND")).ok
    assert (await run(runtime, "incident declare sev1 Second one", "U0TECHLEAD")).ok
    assert (await run(runtime, "incident note INC-2 only-about-the-second", "U0TECHLEAD")).ok
    assert (await run(runtime, "incident ack INC-2", "U0TECHLEAD")).ok
    assert (await run(runtime, "incident note INC-1 about-the-first", "U0DEVOPS")).ok
    assert (await run(runtime, "contacts", "U0DEVOPS")).ok

    report = await run(runtime, "incident report INC-1", "U0DEVOPS")
    assert report.ok, report
    markdown = markdown_of(report)
    assert "about-the-first" in markdown and "First one" in markdown
    assert "contacts" in markdown, "a command run while it was open is part of its record"
    assert "only-about-the-second" not in markdown
    assert "Second one" not in markdown
    assert "incident ack INC-2" not in markdown and "U0TECHLEAD` — " not in markdown
    assert not [row for row in timeline_rows(markdown) if row[2] == "acknowledged"], "INC-2's ack is not INC-1's"


async def test_a_week_long_incident_with_thousands_of_commands_gives_a_file_that_opens(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    assert (await run(runtime, "incident declare sev1 Slow week", "U0BACKEND")).ok
    conn = await asyncpg.connect(fresh_db_url, timeout=5)
    try:
        declared_at = await conn.fetchval("SELECT declared_at FROM incidents WHERE id = 1")
        await conn.execute("UPDATE incidents SET declared_at = $1 WHERE id = 1", declared_at - timedelta(days=7))
        start_at = declared_at - timedelta(days=7) + timedelta(minutes=1)
        rows: list[tuple[Any, ...]] = []
        for i in range(6000):  # 3000 different commands, and 3000 repeats of one status
            arguments = {"text": f"logs api --grep {'x' * 500}-{i}"} if i % 2 else {}
            operation = "logs" if i % 2 else "status"
            at = start_at + timedelta(seconds=i * 90)
            rows.append((f"r{i}", "U0DEVOPS", "C1", "slack", operation, json.dumps(arguments), at))
        await conn.executemany(
            "INSERT INTO audit_log (request_id, user_id, channel_id, source, operation, arguments, decision, outcome,"
            " at) VALUES ($1,$2,$3,$4,$5,$6::jsonb,'allowed','ok',$7)",
            rows,
        )
    finally:
        await conn.close()
    report = await run(runtime, "incident report", "U0DEVOPS")
    assert report.ok, report
    markdown = markdown_of(report)
    assert len(markdown.encode()) < 1_000_000
    table = timeline_rows(markdown)
    assert len(table) <= 2001
    assert any("lines cut from the middle" in what for _, _, what in table)
    assert max(len(what) for _, _, what in table) < 400, "long arguments are cut"
    message = render_slack(report)  # slack_sdk's Block Kit models check Slack's limits
    assert len(json.dumps(message.blocks)) < 12_000
    assert "Slow week" in markdown


async def test_the_report_speaks_the_configured_language(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url, locale="es")
    assert (await run(runtime, "incident declare sev1 Caída de pagos", "U0BACKEND")).ok
    report = await run(runtime, "incident report 1", "U0BACKEND")
    markdown = markdown_of(report)
    assert headings(markdown)[1:3] == ["Cifras", "Línea de tiempo"]
    assert "Tiempo hasta el reconocimiento: aún no" in markdown
    assert "declaró SEV1: Caída de pagos" in markdown


async def test_a_report_of_no_such_incident_is_a_short_refusal(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    result = await run(runtime, "incident report INC-99", "U0BACKEND")
    assert not result.ok and result.summary == "There is no INC-99."
    note = await run(runtime, "incident note", "U0BACKEND")
    assert not note.ok and "Usage" in note.summary


def test_times_in_the_file_are_in_the_configured_zone() -> None:
    moment = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)
    assert local(moment) == "2026-12-02 03:00:00"


async def test_a_note_and_a_resolution_need_no_id_when_one_incident_is_open(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    assert (await run(runtime, "incident declare sev1 Only one open", "U0BACKEND")).ok
    noted = await run(runtime, "incident note checked the pool", "U0DEVOPS")
    assert noted.ok and "INC-1" in noted.summary, noted
    resolved = await run(runtime, "incident resolve pool size raised", "U0DEVOPS")
    assert resolved.ok, resolved
    markdown = markdown_of(await run(runtime, "incident report", "U0DEVOPS"))
    assert "note: checked the pool" in markdown and "resolved: pool size raised" in markdown


async def test_a_confirmed_step_among_20000_status_rows_is_counted_and_shown(
    emu: SlackEmulator, fresh_db_url: str, target_db_url: str, tenant: str, make_runtime: RuntimeFactory
) -> None:
    """The incident's rows are chosen before anything is bounded: 20,000 `/ops status` rows in the
    window, written before the step, once took the whole LIMIT and the report said "run: 0"."""
    runtime = await start(make_runtime, emu, fresh_db_url, target_db=target_db_url)
    assert (await run(runtime, "incident declare sev1 Busy window", "U0BACKEND")).ok
    conn = await asyncpg.connect(fresh_db_url, timeout=5)
    try:
        declared_at = await conn.fetchval("SELECT declared_at FROM incidents WHERE id = 1")
        await conn.execute("UPDATE incidents SET declared_at = $1 WHERE id = 1", declared_at - timedelta(hours=6))
        start_at = declared_at - timedelta(hours=6) + timedelta(seconds=1)
        await conn.copy_records_to_table(
            "audit_log",
            columns=["request_id", "user_id", "channel_id", "source", "operation", "decision", "outcome", "at"],
            records=[
                (f"s{i}", f"U0VIEW{i % 7}", "C1", "slack", "status", "allowed", "ok", start_at + timedelta(seconds=i))
                for i in range(20_000)
            ],
        )
    finally:
        await conn.close()
    done = await run_confirmed(runtime, f"tenant disable {tenant}", "U0ADMIN", channel="C0INCIDENTS")
    assert done.ok, done

    markdown = markdown_of(await run(runtime, "incident report INC-1", "U0TECHLEAD"))
    assert "Destructive steps run: 1 (ok 1)" in markdown
    rows = timeline_rows(markdown)
    index_of(rows, f"tenant disable {tenant}` — executed, ok", "U0ADMIN")
    assert "audit rows are in this file" in markdown and "20,00" in markdown


def test_an_unconfirmed_page_reads_as_unconfirmed_in_the_report_never_pending_or_failed() -> None:
    """Issue 21: a page whose delivery could not be confirmed is said as such in the timeline."""
    from types import SimpleNamespace

    from bot.incidents.report import StepRecord, _step_lines
    from bot.text.messages import Catalog

    due = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    step = StepRecord(
        "page", "unconfirmed", due, None, None, "read-back conversations.history: missing_scope", {"user": "U0DEVOPS"}
    )
    incident = SimpleNamespace(acknowledged_at=None, resolved_at=None)
    for locale, words in (("en", "delivery unconfirmed"), ("es", "entrega sin confirmar")):
        [line] = _step_lines(step, incident, Catalog(locale))  # type: ignore[arg-type]
        assert words in line.text and "missing_scope" in line.text, line
        assert line.at == due


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("state", ["pending", "sending", "done", "failed", "stopped", "cancelled", "unconfirmed"])
def test_a_page_in_any_state_of_the_queue_reads_as_words(state: str, locale: str) -> None:
    """A report taken while a page is being sent (state `sending`) once read `report.page.sending`."""
    from bot.incidents.report import Figures, PageFigure, figure_lines
    from bot.text.messages import Catalog

    page = PageFigure("U0DEVOPS", "devops", state, timedelta(seconds=3), "boom")
    text = "\n".join(figure_lines(Figures(None, None, [page]), Catalog(locale)))
    assert "report." not in text, text
