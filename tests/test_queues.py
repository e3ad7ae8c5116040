"""`/ops queue` and `/ops queue retry` against a real Bull queue and a real Bull Board.

Each test starts tests/bull/server.js with its own Redis key prefix and queues
`payments,emails`, makes jobs fail for real through its test-control endpoints, and
deletes its keys afterwards. Down and hung boards are a closed port and a silent socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from confirm_flow import buttons, run_confirmed
from conftest import REDIS_URL, REPO, RuntimeFactory, base_config
from targets import free_port, start_silent_server

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.output.results import Fields, Result, Table, Text
from bot.targets import bull_board
from handlers.queues import RetryArgs, queue_retry

BOARDS = {
    "pinned": REPO / "tests" / "bull",  # package-lock.json: @bull-board/api 9.10.1
    "latest": REPO / "tests" / "bull-latest",  # the newest npm serves (scripts/setup.sh), e.g. 9.10.2
}
"""Every test of the board runs against both installs: a release that changes the board's API
(9.10.2 refuses jobsPerPage over 300) fails here the day scripts/setup.sh installs it."""
QUEUES = ("payments", "emails")
WAIT = 10.0


@dataclass
class Board:
    """A running server.js and its test-control endpoints."""

    url: str  # Bull Board's base_url (…/admin/queues)
    root: str
    session: aiohttp.ClientSession

    async def add_jobs(
        self, queue: str = "payments", count: int = 1, fail: bool = True, reason: str = "x"
    ) -> list[str]:
        body = {"queue": queue, "count": count, "fail": fail, "reason": reason}
        async with self.session.post(f"{self.root}/test/jobs", json=body) as response:
            assert response.status == 201, await response.text()
            ids: list[str] = (await response.json())["ids"]
            return ids

    async def set_failing(self, fail: bool) -> None:
        async with self.session.post(f"{self.root}/test/failing", json={"fail": fail}) as response:
            assert (await response.json())["failing"] is fail

    async def counts(self, queue: str = "payments") -> dict[str, int]:
        async with self.session.get(f"{self.root}/test/counts", params={"queue": queue}) as response:
            counts: dict[str, int] = await response.json()
            return counts

    async def wait_for(self, check: Callable[[dict[str, int]], bool], queue: str = "payments") -> dict[str, int]:
        """Poll counts until `check` holds: jobs are processed in the background."""
        deadline = time.monotonic() + WAIT
        while True:
            counts = await self.counts(queue)
            if check(counts):
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"{queue} counts never settled: {counts}")
            await asyncio.sleep(0.05)


@pytest.fixture(params=list(BOARDS))
async def board(redis_prefix: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Board]:
    install = BOARDS[request.param]
    if not (install / "node_modules" / "@bull-board" / "api").is_dir():
        pytest.fail(f"{install}/node_modules is missing: run scripts/setup.sh")
    prefix = f"{redis_prefix}bull-{request.node.name[:40]}"
    env = {**os.environ, "REDIS_URL": REDIS_URL, "PORT": "0", "QUEUES": ",".join(QUEUES), "PREFIX": prefix}
    env["BASE_PATH"] = "/admin/queues"
    stderr = (tmp_path / "bull.err").open("wb")
    # tests/bull-latest/server.js is a link to tests/bull/server.js: --preserve-symlinks makes
    # node resolve its packages from the link's own folder, i.e. from the newest install.
    process = await asyncio.create_subprocess_exec(
        "node",
        "--preserve-symlinks",
        "--preserve-symlinks-main",
        str(install / "server.js"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        if not line:
            raise AssertionError(f"server.js did not start: {(tmp_path / 'bull.err').read_text()}")
        root = f"http://127.0.0.1:{json.loads(line)['port']}"
        async with aiohttp.ClientSession() as session:
            yield Board(f"{root}/admin/queues", root, session)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        stderr.close()
        client = aioredis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def config(url: str, queues: tuple[str, ...] = QUEUES, timeout: str = "2s", locale: str = "en") -> str:
    """base_config with a `stack.bull_board` section; no queues: the key left out (every queue the board has)."""
    text = base_config(timeout=timeout, locale=locale)
    listed = f"    queues: [{', '.join(queues)}]\n" if queues else ""
    section = f"stack:\n  bull_board:\n    base_url: {url}\n{listed}"
    return text.replace("stack:\n", section, 1)


async def bot(make_runtime: RuntimeFactory, redis_prefix: str, url: str, **kwargs: Any) -> Runtime:
    return await make_runtime(config(url, **kwargs), redis_prefix=f"{redis_prefix}queues:")


async def ask(runtime: Runtime, text: str, user: str = "U0VIEW") -> Result:
    return await runtime.dispatcher.dispatch(Invocation(text, user, "C1", "slack"))


def text_of(result: Result) -> str:
    parts = [result.title, result.summary]
    for block in result.blocks:
        if isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Fields):
            parts.extend(f"{k}={v}" for k, v in block.pairs)
    return "\n".join(parts)


def table(result: Result, index: int = 0) -> Table:
    return [b for b in result.blocks if isinstance(b, Table)][index]


# ---- reading --------------------------------------------------------------------------


async def test_queue_lists_counts_of_every_configured_queue(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 3, fail=True, reason="card declined")
    await board.add_jobs("emails", 2, fail=False)
    await board.wait_for(lambda c: c["failed"] == 3)
    await board.wait_for(lambda c: c["completed"] == 2, "emails")
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await ask(runtime, "queue")
    assert result.ok, text_of(result)
    rows = {row[0]: row for row in table(result).rows}
    columns = table(result).columns
    assert columns == ["QUEUE", "WAITING", "ACTIVE", "COMPLETED", "FAILED", "DELAYED", "PAUSED"]
    assert rows["payments"][columns.index("FAILED")] == "3"
    assert rows["emails"][columns.index("COMPLETED")] == "2"
    assert "3 failed jobs" in result.summary


async def test_queue_without_configured_queues_lists_what_the_board_reports(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url, queues=())
    result = await ask(runtime, "queue")
    assert sorted(row[0] for row in table(result).rows) == ["emails", "payments"]


async def test_queue_name_shows_failed_jobs_and_grouped_reasons(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    ids = await board.add_jobs("payments", 3, fail=True, reason="card declined")
    ids += await board.add_jobs("payments", 1, fail=True, reason="insufficient funds")
    await board.wait_for(lambda c: c["failed"] == 4)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await ask(runtime, "queue payments")
    text = text_of(result)
    assert result.ok, text
    assert "FAILED=4" in text
    assert "card declined ×3" in text and "insufficient funds ×1" in text
    assert text.index("card declined ×3") < text.index("insufficient funds ×1")
    jobs = table(result)
    assert jobs.columns == ["JOB", "FAILED", "TRIES", "REASON"]
    assert sorted(row[0] for row in jobs.rows) == sorted(ids)
    assert all(row[1].endswith(" ago") and row[2] == "1" for row in jobs.rows), jobs.rows
    assert {row[3] for row in jobs.rows} == {"card declined", "insufficient funds"}


async def test_queue_speaks_spanish_when_configured(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 2, fail=True, reason="tarjeta rechazada")
    await board.wait_for(lambda c: c["failed"] == 2)
    runtime = await bot(make_runtime, redis_prefix, board.url, locale="es")
    result = await ask(runtime, "queue payments")
    assert "Motivos de fallo" in text_of(result) and "tarjeta rechazada ×2" in text_of(result)
    assert table(result).columns == ["JOB", "FALLÓ", "INTENTOS", "MOTIVO"]


async def test_unknown_queue_is_refused_with_the_known_ones(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url, queues=("payments",))
    for text, user in (("queue emails", "U0VIEW"), ("queue retry nope", "U0OPER")):
        result = await ask(runtime, text, user)
        assert not result.ok and "known queues: payments" in result.summary, result.summary


async def test_unknown_queue_without_configured_queues_is_checked_on_the_board(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url, queues=())
    result = await ask(runtime, "queue nope")
    assert not result.ok and "known queues: payments, emails" in result.summary, result.summary


async def test_configured_queue_missing_on_the_board_is_named(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url, queues=("payments", "ghosts"))
    listing = await ask(runtime, "queue")
    assert not listing.ok and "not on Bull Board: ghosts" in text_of(listing)
    one = await ask(runtime, "queue ghosts")
    assert not one.ok and "queue ghosts not found on Bull Board" in one.summary


# ---- retrying -------------------------------------------------------------------------


async def test_retry_preview_counts_the_failed_jobs_and_changes_nothing(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 3, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 3)
    await board.set_failing(False)  # a retry would now complete them: any change would show
    runtime = await bot(make_runtime, redis_prefix, board.url)
    preview = await ask(runtime, "queue retry payments", "U0OPER")
    assert buttons(preview), text_of(preview)
    assert "Would retry every failed job of payments: 3 now" in text_of(preview)
    assert "card declined ×3" in text_of(preview)
    await asyncio.sleep(0.3)
    counts = await board.counts()
    assert counts["failed"] == 3 and counts["completed"] == 0


async def test_confirmed_retry_of_all_completes_the_jobs(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    await board.add_jobs("payments", 3, fail=True, reason="card declined")
    await board.add_jobs("emails", 1, fail=True, reason="smtp down")
    await board.wait_for(lambda c: c["failed"] == 3)
    await board.wait_for(lambda c: c["failed"] == 1, "emails")
    await board.set_failing(False)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")
    assert result.ok, text_of(result)
    assert "Bull Board retried 3 failed jobs of payments." in text_of(result)
    effect = {row[0]: row[1:] for row in table(result).rows}
    assert effect["FAILED"][0] == "3"
    counts = await board.wait_for(lambda c: c["failed"] == 0 and c["completed"] == 3)
    assert counts["waiting"] == 0
    assert (await board.counts("emails"))["failed"] == 1  # another queue is left alone


async def test_confirmed_retry_of_one_job_retries_only_that_job(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    first, second = await board.add_jobs("payments", 2, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 2)
    await board.set_failing(False)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    preview = await ask(runtime, f"queue retry payments {second}", "U0OPER")
    assert f"Would retry job {second} of payments" in text_of(preview) and "card declined" in text_of(preview)
    result = await run_confirmed(runtime, f"queue retry payments {second}", "U0OPER")
    assert result.ok and f"retried job {second} of payments" in text_of(result), text_of(result)
    await board.wait_for(lambda c: c["failed"] == 1 and c["completed"] == 1)
    again = await ask(runtime, "queue payments")
    assert [row[0] for row in table(again).rows] == [first]


async def test_preview_refuses_a_job_that_is_not_failed(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    (done,) = await board.add_jobs("payments", 1, fail=False)
    await board.wait_for(lambda c: c["completed"] == 1)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    preview = await ask(runtime, f"queue retry payments {done}", "U0OPER")
    assert not preview.ok and not buttons(preview)
    assert f"Job {done} of payments is completed, not failed" in preview.summary


async def test_preview_refuses_when_nothing_failed(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url)
    preview = await ask(runtime, "queue retry payments all", "U0OPER")
    assert not preview.ok and not buttons(preview) and "no failed jobs" in preview.summary


async def test_unknown_job_is_a_clear_message(make_runtime: RuntimeFactory, redis_prefix: str, board: Board) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url)
    preview = await ask(runtime, "queue retry payments 999", "U0OPER")
    assert not preview.ok and "job 999 not found in queue payments" in preview.summary


async def test_handler_refuses_a_job_that_stopped_being_failed(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    """Between preview and click the job may complete; Bull then answers 500, we say why."""
    (done,) = await board.add_jobs("payments", 1, fail=False)
    await board.wait_for(lambda c: c["completed"] == 1)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    ctx = runtime.dispatcher.context(Invocation(f"queue retry payments {done}", "U0OPER", "C1", "slack"), "operator")
    args = RetryArgs.model_validate(
        {"name": "payments", "job": done}, context={"config": runtime.deps.config, "t": ctx.t}
    )
    result = await queue_retry(ctx, args)
    assert not result.ok and "is completed, not failed" in result.summary


@pytest.mark.parametrize("job", ["../1", "1;2", "*", "1/retry", "..", "a b"])
async def test_bad_job_ids_are_refused_before_asking_the_board(
    make_runtime: RuntimeFactory, redis_prefix: str, job: str
) -> None:
    runtime = await bot(make_runtime, redis_prefix, f"http://127.0.0.1:{free_port()}/admin/queues")  # never reached
    result = await ask(runtime, f"queue retry payments '{job}'", "U0OPER")
    assert not result.ok and not buttons(result)
    assert "is not a job id" in result.summary, result.summary


async def test_retry_needs_the_operator_role(make_runtime: RuntimeFactory, redis_prefix: str, board: Board) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await ask(runtime, "queue retry payments", "U0VIEW")
    assert not result.ok and "needs the *operator* role" in result.summary


# ---- a board that is down, hung or elsewhere ------------------------------------------------


async def test_board_down_is_a_clear_message(make_runtime: RuntimeFactory, redis_prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/admin/queues"
    runtime = await bot(make_runtime, redis_prefix, url)
    for text, user in (("queue", "U0VIEW"), ("queue payments", "U0VIEW"), ("queue retry payments", "U0OPER")):
        result = await ask(runtime, text, user)
        assert not result.ok and result.summary.startswith(f"Bull Board: Bull Board unreachable at {url}"), (
            result.summary
        )


async def test_hung_board_times_out_within_the_configured_timeout(
    make_runtime: RuntimeFactory, redis_prefix: str
) -> None:
    server, url = await start_silent_server()
    try:
        runtime = await bot(make_runtime, redis_prefix, f"{url}/admin/queues", timeout="1s")
        started = time.perf_counter()
        result = await ask(runtime, "queue payments")
        elapsed = time.perf_counter() - started
    finally:
        server.close()
    assert not result.ok and "no answer from Bull Board within 1s" in result.summary, result.summary
    assert elapsed < 4, "answered at its 1 s timeout, not a default one (5 s and more) or never"


async def test_base_url_that_is_not_the_board_says_so(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    runtime = await bot(make_runtime, redis_prefix, board.root)  # missing /admin/queues
    result = await ask(runtime, "queue")
    assert not result.ok and "is stack.bull_board.base_url where the board is mounted?" in result.summary


# ---- issue 21: Bull Board as users run it -------------------------------------------------------


def test_the_latest_install_is_a_board_newer_than_the_pinned_one() -> None:
    """The parametrisation really runs two boards (else the 'latest' runs prove nothing new)."""
    versions = {
        name: json.loads((path / "node_modules" / "@bull-board" / "api" / "package.json").read_text())["version"]
        for name, path in BOARDS.items()
    }
    assert versions["pinned"] == "9.10.1"
    assert tuple(map(int, versions["latest"].split("."))) >= (9, 10, 2), versions


async def test_a_retry_of_more_failed_jobs_than_a_board_page_follows_them_all(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board
) -> None:
    """350 failed jobs: more than the 300 a newest board gives in one page, read in two pages."""
    await board.add_jobs("payments", 350, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 350)
    await board.set_failing(False)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")
    assert result.ok, text_of(result)
    assert "Bull Board retried 350 failed jobs of payments." in text_of(result)
    verification = result.verification
    assert verification is not None and verification.verified, text_of(result)
    assert [c.detail for c in verification.checks][:2] == ["350 of 350 completed", "none"]
    await board.wait_for(lambda c: c["failed"] == 0 and c["completed"] == 350)


@pytest.mark.parametrize("board", ["latest"], indirect=True)
async def test_a_retry_whose_jobs_cannot_be_read_still_retries_and_says_what_it_could_not_verify(
    make_runtime: RuntimeFactory, redis_prefix: str, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest board refuses the pre-read (a page of 1,000, as the old code asked): the retry
    goes anyway, and the verification says the jobs could not be read and why."""
    monkeypatch.setattr(bull_board, "MAX_PAGE", 1000)
    await board.add_jobs("payments", 3, fail=True, reason="card declined")
    await board.wait_for(lambda c: c["failed"] == 3)
    await board.set_failing(False)
    runtime = await bot(make_runtime, redis_prefix, board.url)
    result = await run_confirmed(runtime, "queue retry payments", "U0OPER")
    text = text_of(result)
    assert "Bull Board retried 3 failed jobs of payments." in text, text
    verification = result.verification
    assert verification is not None and not verification.verified, text
    [unread] = verification.checks
    assert unread.state == "warn" and unread.detail.startswith("could not read the queue's jobs"), unread
    assert "HTTP 400" in unread.detail and "INVALID_QUERY_PARAM" in unread.detail, unread
    assert result.ok, "the retry itself happened: only its verification is missing"
    await board.wait_for(lambda c: c["failed"] == 0 and c["completed"] == 3)
