"""Incidents and escalation against the Slack emulator and a bot database of each test's own:
pages go to the right people once, at the right time, survive 429s and restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import RuntimeFactory, base_config
from slack_emulator import Call, SlackEmulator

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.incidents.escalation import EscalationWorker
from bot.incidents.notify import SlackNotifier, slack_client_for_notices
from bot.storage.incidents import StepRow

POLICY = """\
escalation:
  sev1:
    - {notify: devops, on_call: true}
    - {notify: tech_lead}
    - {after: 2s, unless: acknowledged, notify: cto}
  sev2:
    - {ticket: true}
    - {notify: tech_lead}
    - {checklist: [Reproduce, Find the cause]}
"""


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def start(
    make_runtime: RuntimeFactory, emu: SlackEmulator, db_url: str, extra: str = POLICY, poll: float = 0.1
) -> Runtime:
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    runtime = await make_runtime(base_config(extra=extra), database_url=db_url, notifier=notifier)
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.poll = poll
    return runtime


def is_dm(call: Call) -> bool:
    return str(call.args.get("channel", "")).startswith("D")


def dm_users(emu: SlackEmulator) -> list[str]:
    """Who got a page: the DMs themselves (the emulator's DM channel of U1 is DU1)."""
    return [str(c.args["channel"])[1:] for c in emu.calls("chat.postMessage") if is_dm(c)]


async def wait_pages(emu: SlackEmulator, count: int, timeout: float) -> list[Call]:
    return await emu.wait_for("chat.postMessage", count=count, timeout=timeout, predicate=is_dm)


def thread_texts(emu: SlackEmulator) -> list[str]:
    return [str(c.args.get("text", "")) + str(c.args.get("blocks", "")) for c in emu.calls("chat.postMessage")]


async def declare(runtime: Runtime, text: str, user: str = "U0BACKEND") -> Any:
    return await runtime.dispatcher.dispatch(Invocation(f"incident declare {text}", user, "C0DEV", "slack"))


async def page_steps(runtime: Runtime, incident: int = 1) -> dict[str, StepRow]:
    """The incident's page steps by paged user, as the bot recorded them (due_at, fired_at)."""
    return {str(s.payload["user"]): s for s in await runtime.deps.incidents.steps(incident) if s.kind == "page"}


async def settled(runtime: Runtime, done: Callable[[list[StepRow]], bool], timeout: float = 10.0) -> list[StepRow]:
    """The incident's steps once `done` holds for them: committed marks, not a guess at how long that takes."""
    deadline = time.monotonic() + timeout
    while True:
        steps = await runtime.deps.incidents.steps(1)
        if done(steps) or time.monotonic() > deadline:
            return steps
        await asyncio.sleep(0.05)


def pages_done(count: int) -> Callable[[list[StepRow]], bool]:
    return lambda steps: sum(s.kind == "page" and s.state == "done" for s in steps) >= count


two_pages_done = pages_done(2)


def frozen_clocks(runtime: Runtime) -> FakeClock:
    """Stop time for the incident store and the worker alike: a delayed step falls due only when
    the test moves `now`, so a slow machine cannot make it due before the test acts."""
    clock = FakeClock(datetime.now(UTC))
    runtime.deps.incidents.clock = clock
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.clock = clock
    return clock


async def test_sev1_pages_on_call_devops_and_tech_lead_at_once_and_cto_only_after_the_delay(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    result = await declare(runtime, "sev1 Pagos no se procesan")
    assert result.ok and "INC-1" in result.title
    await wait_pages(emu, 3, 10)
    assert sorted(dm_users(emu)[:2]) == ["U0DEVOPS", "U0TECHLEAD"] and dm_users(emu)[2:] == ["U0CTO"]
    announce = emu.calls("chat.postMessage")[0]
    assert announce.args["channel"] == "C0INCIDENTS" and "INC-1" in str(announce.args["text"])
    steps = await settled(runtime, pages_done(3))  # the done marks commit just after the DMs
    opened = next(s for s in steps if s.kind == "announce")
    pages = await page_steps(runtime)
    devops, lead, cto = pages["U0DEVOPS"], pages["U0TECHLEAD"], pages["U0CTO"]
    assert devops.due_at == lead.due_at == opened.due_at, "devops and the tech lead are paged at once"
    # the policy's 2 s count from when the earlier tier's pages really went out (their done marks)
    assert cto.due_at == max(
        opened.due_at + timedelta(seconds=2), max(devops.fired_at, lead.fired_at) + timedelta(seconds=2)
    )
    assert cto.fired_at is not None and cto.fired_at >= cto.due_at, "the CTO was paged before the delay"
    assert devops.fired_at is not None and lead.fired_at is not None
    assert max(devops.fired_at, lead.fired_at) < cto.fired_at
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: "<@U0CTO>" in str(c.args.get("text")))
    thread = {str(c.args.get("thread_ts")) for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")}
    assert thread == {sorted(emu.messages)[0]}, "every timeline entry goes into the incident's thread"
    mentions = [str(c.args["text"]) for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert any("<@U0CTO>" in m and "escalated" in m for m in mentions)
    assert any("<@U0DEVOPS>" in m and "on call" in m for m in mentions)


async def test_ack_before_the_delay_stops_the_cto_page(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    clock = frozen_clocks(runtime)
    await declare(runtime, "sev1 API caída")
    await wait_pages(emu, 2, 5)
    acked = await runtime.dispatcher.dispatch(Invocation("incident ack INC-1", "U0DEVOPS", "D0DEVOPS", "button"))
    assert acked.ok and "1 pending escalation step stopped" in acked.summary
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: "Acknowledged by" in str(c.args.get("text")))
    assert clock.now is not None
    clock.now += timedelta(seconds=10)  # well past the CTO's delay
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.wake()
    await asyncio.sleep(0.5)
    assert "U0CTO" not in dm_users(emu)
    assert any("Acknowledged by" in t and "U0DEVOPS" in t for t in thread_texts(emu))
    steps = await runtime.deps.incidents.steps(1)
    assert [s.state for s in steps if s.kind == "page" and s.payload["user"] == "U0CTO"] == ["stopped"]


async def test_a_429_delays_the_page_but_does_not_lose_it(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    emu.fail("conversations.open", times=1, retry_after=1)
    runtime = await start(make_runtime, emu, fresh_db_url)
    await declare(runtime, "sev1 Cola de pagos detenida")
    await wait_pages(emu, 2, 5)
    opened = emu.calls("conversations.open")
    assert len(opened) == 3, "two DMs opened, one of them asked twice after the 429"
    await settled(runtime, two_pages_done)
    await asyncio.sleep(0.3)  # a duplicate DM would come now
    dms = [c for c in emu.calls("chat.postMessage") if str(c.args["channel"]).startswith("D")]
    assert sorted(str(c.args["channel"]) for c in dms) == ["DU0DEVOPS", "DU0TECHLEAD"], "each page sent exactly once"
    steps = await runtime.deps.incidents.steps(1)
    retried = [s for s in steps if s.kind == "page" and s.state == "done" and s.payload.get("first_due")]
    assert len(retried) == 1 and retried[0].late_ms is not None and retried[0].late_ms >= 900


async def test_two_workers_on_one_database_fire_every_step_once(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    first = await start(make_runtime, emu, fresh_db_url, poll=0.05)
    await start(make_runtime, emu, fresh_db_url, poll=0.05)
    for n in range(10):
        await declare(first, f"sev1 incidente {n}")
    await wait_pages(emu, 30, 15)
    await asyncio.sleep(0.5)
    dms = [c for c in emu.calls("chat.postMessage") if str(c.args["channel"]).startswith("D")]
    assert len(dms) == 30, "10 incidents × (devops, tech lead, cto)"
    keys = [(str(c.args["channel"]), str(c.args["text"])) for c in dms]
    assert len(set(keys)) == 30, "a page was sent twice"
    async with first.deps.db.connection() as conn:
        fired_by = await conn.fetch("SELECT DISTINCT fired_by FROM escalation_steps WHERE state = 'done'")
    assert len(fired_by) >= 1


async def test_pages_sent_together_share_one_message_in_the_thread(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    frozen_clocks(runtime)  # the CTO's page never falls due: only the two sent together
    await declare(runtime, "sev1 Base de datos sin espacio")
    await wait_pages(emu, 2, 5)

    def lines_posted(steps: list[StepRow]) -> bool:  # the line is a note the pages' record queues, sent after it
        notes = [s for s in steps if s.kind == "note" and s.payload.get("event") == "paged_lines"]
        return two_pages_done(steps) and bool(notes) and all(s.state == "done" for s in notes)

    steps = await settled(runtime, lines_posted)
    assert lines_posted(steps), steps
    lines = [str(c.args["text"]) for c in emu.calls("chat.postMessage") if c.args.get("thread_ts")]
    paged = [text for text in lines if "Paged" in text]
    assert len(paged) == 1, lines
    assert "<@U0DEVOPS>" in paged[0] and "<@U0TECHLEAD>" in paged[0] and "\n" in paged[0]


CLAIM_ROUNDS = 40
"""On the claim before CLAIM_LOCKS, 2 to 6 of 40 rounds divided the pages (three runs)."""


async def test_claims_running_at_once_never_split_the_steps_due_together(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    """Why the pages of one declare share one thread line: one claim takes every step due
    together. Sixteen claims at once (eight on each of two replicas) must not divide them."""
    runtime = await make_runtime(base_config(extra=POLICY), database_url=fresh_db_url)  # no worker running
    notifier = SlackNotifier(slack_client_for_notices(emu.api_url, "xoxb-test-token-123"))
    workers = [EscalationWorker(runtime.deps, notifier) for _ in range(2)]
    split: list[list[int]] = []
    for n in range(CLAIM_ROUNDS):
        await declare(runtime, f"sev2 Pagos lentos {n}")  # its incident row; the steps are replaced below
        async with runtime.deps.db.connection() as conn:
            await conn.execute("UPDATE escalation_steps SET state = 'done' WHERE state = 'pending'")
            await conn.execute(
                "INSERT INTO escalation_steps (incident_id, position, kind, payload, due_at)"
                " SELECT $1, 100 + g, 'page', jsonb_build_object('user', 'U0P' || g, 'role', 'dba'), now()"
                " FROM generate_series(1, 6) g",
                n + 1,
            )
        claims = await asyncio.gather(*(worker._claim() for worker in workers for _ in range(8)))
        split.append(sorted(len(claim) for claim in claims))
        async with runtime.deps.db.connection() as conn:
            await conn.execute("UPDATE escalation_steps SET state = 'done' WHERE state = 'sending'")
    assert all(sizes == [0] * 15 + [6] for sizes in split), split


async def test_a_step_fires_when_it_falls_due_not_at_the_next_poll(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url, poll=30.0)
    await declare(runtime, "sev1 Checkout caído")
    await wait_pages(emu, 3, 20)
    assert dm_users(emu).count("U0CTO") == 1
    await settled(runtime, pages_done(3))
    cto = (await page_steps(runtime))["U0CTO"]
    assert cto.fired_at is not None and cto.fired_at >= cto.due_at
    assert cto.fired_at - cto.due_at < timedelta(seconds=10), "the CTO page waited for the 30 s poll"


async def test_steps_written_on_another_replica_wake_this_one_at_once(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    typed_on = await make_runtime(base_config(extra=POLICY), database_url=fresh_db_url)  # no worker of its own
    assert typed_on.deps.escalation is None
    sends = await start(make_runtime, emu, fresh_db_url, poll=30.0)
    assert sends.deps.escalation is not None
    await asyncio.sleep(2.5)  # its loops are in their 30 s waits, its listening connection open
    await declare(typed_on, "sev1 Webhooks de pago fallan")
    await wait_pages(emu, 2, 20)
    assert sorted(dm_users(emu)[:2]) == ["U0DEVOPS", "U0TECHLEAD"]
    await settled(sends, two_pages_done)
    pages = await page_steps(sends)
    for user in ("U0DEVOPS", "U0TECHLEAD"):
        page = pages[user]
        assert page.fired_at is not None and page.fired_at - page.due_at < timedelta(seconds=10), (
            "the other replica waited for its 30 s poll"
        )


async def test_a_broken_step_does_not_undo_the_pages_sent_in_its_batch(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    await declare(runtime, "sev1 Pagos lentos")
    await wait_pages(emu, 2, 3)
    assert runtime.deps.escalation is not None
    async with runtime.deps.db.connection() as conn:
        await conn.execute(  # claimed together: the same due time, one transaction
            "INSERT INTO escalation_steps (incident_id, position, kind, payload, due_at) VALUES"
            ' (1, 10, \'page\', \'{"user": "U0EXTRA1", "role": "dba"}\', now()),'
            " (1, 11, 'page', '{\"role\": \"no user: a bug\"}', now()),"
            ' (1, 12, \'page\', \'{"user": "U0EXTRA2", "role": "dba"}\', now())'
        )
    runtime.deps.escalation.wake()
    await wait_pages(emu, 4, 5)
    await settled(runtime, lambda steps: sum(s.state == "done" and s.kind == "page" for s in steps) >= 4)
    assert sorted(u for u in dm_users(emu) if u.startswith("U0EXTRA")) == ["U0EXTRA1", "U0EXTRA2"]
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT position, state, last_error FROM escalation_steps WHERE position >= 10 AND kind = 'page'"
        )
    states = {r["position"]: (r["state"], r["last_error"]) for r in rows}
    assert states[10][0] == "done" and states[12][0] == "done"
    assert states[11] == ("pending", "internal error: KeyError")


async def test_sev2_declared_at_22_notifies_the_tech_lead_at_9_in_their_time_zone(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    tz = ZoneInfo("America/Santiago")
    clock = FakeClock(datetime(2026, 11, 27, 22, 0, tzinfo=tz).astimezone(UTC))
    runtime = await start(make_runtime, emu, fresh_db_url)
    runtime.deps.incidents.clock = clock
    worker = runtime.deps.escalation
    assert worker is not None
    worker.clock = clock
    result = await declare(runtime, "sev2 Reportes lentos")
    assert "2026-11-28 09:00" in str(result.blocks)
    await emu.wait_for("chat.postMessage", count=3, timeout=3, predicate=lambda c: True)
    await asyncio.sleep(0.5)
    assert "U0TECHLEAD" not in dm_users(emu)
    assert any("outside working hours" in t and "2026-11-28 09:00 America/Santiago" in t for t in thread_texts(emu))
    assert any("Ticket TCK-" in t for t in thread_texts(emu)) and any("Checklist" in t for t in thread_texts(emu))
    clock.now = datetime(2026, 11, 28, 8, 59, tzinfo=tz).astimezone(UTC)
    worker.wake()
    await asyncio.sleep(0.5)
    assert "U0TECHLEAD" not in dm_users(emu)
    clock.now = datetime(2026, 11, 28, 9, 0, 1, tzinfo=tz).astimezone(UTC)
    worker.wake()
    await wait_pages(emu, 1, 3)
    assert dm_users(emu) == ["U0TECHLEAD"]


async def test_resolve_summarizes_and_cancels_pending_pages(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    clock = frozen_clocks(runtime)
    await declare(runtime, "sev1 Base de datos lenta")
    await wait_pages(emu, 2, 5)
    await settled(runtime, two_pages_done)
    resolved = await runtime.dispatcher.dispatch(
        Invocation("incident resolve 1 índice faltante en pedidos", "U0DEVOPS", "C0INCIDENTS", "slack")
    )
    assert resolved.ok and "2 pages sent" in resolved.summary and "acknowledged by nobody" in resolved.summary
    await emu.wait_for("chat.postMessage", timeout=5, predicate=lambda c: "Resolved by" in str(c.args.get("text")))
    assert clock.now is not None
    clock.now += timedelta(seconds=10)  # well past the CTO's delay
    assert runtime.deps.escalation is not None
    runtime.deps.escalation.wake()
    await asyncio.sleep(0.5)
    assert "U0CTO" not in dm_users(emu)
    assert (await page_steps(runtime))["U0CTO"].state == "cancelled"
    assert any("Resolved by" in t and "índice faltante" in t for t in thread_texts(emu))
    listed = await runtime.dispatcher.dispatch(Invocation("incident list", "U0VIEW", "C1", "slack"))
    assert "resolved" in str(listed.blocks)


async def test_every_page_is_an_audit_row(emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    await declare(runtime, "sev1 Webhooks fallan")
    await wait_pages(emu, 3, 10)
    deadline = time.monotonic() + 10
    while True:  # written just after their batch commits
        async with runtime.deps.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT operation, arguments FROM audit_log WHERE source = 'escalation' ORDER BY id"
            )
        if len(rows) >= 3 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [r["operation"] for r in rows] == ["incident page", "incident page", "incident escalate"]


async def test_oncall_handover_pages_the_new_person(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    denied = await runtime.dispatcher.dispatch(Invocation("oncall set <@U0NEWOPS|nico>", "U0VIEW", "C1", "slack"))
    assert not denied.ok
    handed = await runtime.dispatcher.dispatch(Invocation("oncall set <@U0NEWOPS|nico>", "U0ADMIN", "C1", "slack"))
    assert handed.ok and "U0NEWOPS is now on call for devops" in handed.summary
    shown = await runtime.dispatcher.dispatch(Invocation("oncall", "U0VIEW", "C1", "slack"))
    assert "U0NEWOPS" in str(shown.blocks)
    await emu.wait_for("chat.postMessage", count=1, timeout=3)
    assert any("takes over" in t for t in thread_texts(emu))
    await declare(runtime, "sev1 Todo caído")
    await wait_pages(emu, 2, 3)
    assert "U0NEWOPS" in dm_users(emu) and "U0DEVOPS" not in dm_users(emu)


async def test_bad_incident_input_is_refused_plainly(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    runtime = await start(make_runtime, emu, fresh_db_url)
    for text, expected in [
        ("incident declare sev9 algo grave", "Unknown severity"),
        ("incident declare sev1", "missing"),
        ("incident ack INC-x", "not an incident"),
        ("incident ack 99", "There is no INC-99"),
        ("incident resolve", "no open incident"),
    ]:
        result = await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))
        assert not result.ok and expected in result.summary, (text, result.summary)


async def test_an_incident_is_declared_without_a_policy_for_its_severity_and_says_nobody_is_paged(
    emu: SlackEmulator, fresh_db_url: str, make_runtime: RuntimeFactory
) -> None:
    """The spec's sev1 and sev2 are always declarable: at 3 AM an ops.yml without an escalation
    section must not stop the record and its thread (it used to say "use one of: ." and stop)."""
    runtime = await start(make_runtime, emu, fresh_db_url, extra="")
    declared = await declare(runtime, "sev1 Checkout caído")
    assert declared.ok, declared.summary
    text = " ".join(str(getattr(b, "text", "")) for b in declared.blocks)
    assert "no escalation policy for SEV1 (`escalation.sev1`): nobody is paged" in text, text
    [announce] = await emu.wait_for(
        "chat.postMessage", timeout=5, predicate=lambda c: c.args["channel"] == "C0INCIDENTS"
    )
    assert "INC-1" in str(announce.args.get("text"))
    refused = await declare(runtime, "sev3 Algo raro")
    assert not refused.ok and refused.summary == "Unknown severity; use one of: sev1, sev2.", refused.summary
    assert [i.ref for i in await runtime.deps.incidents.recent()] == ["INC-1"]
    assert not [c for c in emu.calls("chat.postMessage") if is_dm(c)], "nobody to page: no DM"
