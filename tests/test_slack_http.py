"""End to end over HTTP: the real `ops-bot serve` subprocess, signed requests as Slack sends them,
and the local Slack emulator receiving what the bot posts (response_url, files, Web API)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from botproc import (
    BOT_TOKEN,
    SIGNING_SECRET,
    BotLauncher,
    BotProcess,
    code_lines,
    posted,
    shown,
)
from conftest import PG_ADMIN, base_config
from slack_emulator import SlackEmulator
from slack_signing import block_actions_body, signed_headers, slash_command_body
from targets import HttpTarget, delayed, hangs, start_http_target

from bot.storage.migrations import _LOCK_KEY

pytestmark = pytest.mark.timeout(60)

CHANNEL = "C0OPS"
ADMIN = "U0ADMIN"
EVENTS = "/slack/events"
# each line starts with its time in ops.yml's zone, "12-02 09:45:59  "
LOG_LINE = re.compile(
    r"^\d\d-\d\d \d\d:\d\d:\d\d  "
    r"(boot line \d+$|.*GET /orders/\d+ 200$|webhook received payment \d+$|warn slow query \d+$)"
)


def new_viewer() -> str:
    """A user id no other test uses (base_config makes everyone a viewer)."""
    return "U0V" + secrets.token_hex(4).upper()


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def launcher(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[BotLauncher]:
    """Depends on `emu` so every bot stops before the emulator does."""
    async with BotLauncher(tmp_path) as bots:
        yield bots


@pytest.fixture
async def api() -> AsyncIterator[HttpTarget]:
    """The stack's API: /health answers at once."""
    target = await start_http_target({"/health": delayed(0)})
    yield target
    await target.close()


StartBot = Callable[..., Any]


@pytest.fixture
def start_bot(
    launcher: BotLauncher,
    emu: SlackEmulator,
    write_config: Callable[[str], Path],
    bot_db_url: str,
    redis_prefix: str,
) -> StartBot:
    """`await start_bot(**base_config_kwargs)`: a running `ops-bot serve` on that ops.yml."""

    async def start(*, database_url: str = bot_db_url, migrate: bool = True, **config: Any) -> BotProcess:
        path = write_config(base_config(**config))
        env = {"REDIS_PREFIX": redis_prefix}
        return await launcher.serve(path, emu.api_url, database_url, migrate=migrate, extra_env=env)

    return start


class Sent:
    """One request sent to the bot: its HTTP answer and the response_url it carried."""

    def __init__(self, status: int, body: str, seconds: float, response_url: str, at: float) -> None:
        self.status = status
        self.body = body
        self.seconds = seconds
        self.response_url = response_url
        self.at = at

    @property
    def ack_text(self) -> str:
        return str(json.loads(self.body).get("text", "")) if self.body.strip() else ""


async def slash(
    bot: BotProcess,
    emu: SlackEmulator,
    text: str,
    user: str = ADMIN,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    signed: bool = True,
) -> Sent:
    """POST `/ops <text>` the way Slack does, signed with `secret` at `timestamp` (now by default)."""
    response_url = emu.response_url()
    body = slash_command_body(text, user, CHANNEL, response_url)
    headers = (
        signed_headers(body, secret, timestamp) if signed else {"Content-Type": "application/x-www-form-urlencoded"}
    )
    at = time.time()
    status, answer, seconds = await bot.request("POST", EVENTS, body, headers)
    return Sent(status, answer, seconds, response_url, at)


async def click(bot: BotProcess, emu: SlackEmulator, value: str, user: str) -> Sent:
    """A click on a bot button `ops_run:0` whose value is the command it runs."""
    response_url = emu.response_url()
    body = block_actions_body("ops_run:0", value, user, CHANNEL, response_url)
    at = time.time()
    status, answer, seconds = await bot.request("POST", EVENTS, body, signed_headers(body, SIGNING_SECRET))
    return Sent(status, answer, seconds, response_url, at)


async def wait_for_webhook_lines(project: str, count: int = 2, timeout: float = 20.0) -> None:
    """The api container prints 300 boot lines, then a request, a webhook every third, and a
    stderr warning every 0.2 s; wait until its last lines hold `count` webhook lines."""
    deadline = time.monotonic() + timeout
    while True:
        proc = await asyncio.create_subprocess_exec(
            "docker", "logs", "--tail", "40", f"{project}-api-1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if (out + err).count(b"webhook received payment") >= count:
            return
        assert time.monotonic() < deadline, f"the api container printed no webhook lines in {timeout}s"
        await asyncio.sleep(0.3)


# ---------------------------------------------------------------------- acks and results


async def test_status_is_acked_at_once_and_posted_in_channel_with_the_checks(
    start_bot: StartBot, emu: SlackEmulator, api: HttpTarget, compose_project: str
) -> None:
    bot = await start_bot(api_url=api.url, health={"api": "/health"}, project=compose_project)

    sent = await slash(bot, emu, "status", new_viewer())

    assert sent.status == 200
    assert sent.seconds < 1.0, f"ack took {sent.seconds:.3f}s"
    assert "Running `/ops status`" in sent.ack_text
    [call] = await posted(emu, sent.response_url)
    assert call.args["response_type"] == "in_channel"
    text = shown(call)
    assert re.search(r"✅ \*API /health\* — HTTP 200 · \d+ ms", text), text
    assert f"Status of {compose_project}" in text
    assert re.search(r"✅ \*container api\* — container up", text), text


async def test_requests_slack_did_not_sign_just_now_are_refused_and_run_nothing(
    start_bot: StartBot, emu: SlackEmulator
) -> None:
    bot = await start_bot()

    attacks = {
        "unsigned": await slash(bot, emu, "contacts", signed=False),
        "wrong signature": await slash(bot, emu, "contacts", secret="not-the-signing-secret"),
        # correctly signed, but 6 minutes old: a replay
        "stale timestamp": await slash(bot, emu, "contacts", timestamp=int(time.time()) - 6 * 60),
    }

    assert {name: sent.status for name, sent in attacks.items()} == dict.fromkeys(attacks, 401)
    await asyncio.sleep(1.0)
    assert emu.calls("response_url") == [], "a refused request still ran"
    genuine = await slash(bot, emu, "contacts")  # the same bot does answer a signed request
    assert genuine.status == 200
    await posted(emu, genuine.response_url)


async def test_a_viewer_asking_for_audit_is_told_it_needs_admin_and_the_refusal_is_audited(
    start_bot: StartBot, emu: SlackEmulator, bot_db_url: str
) -> None:
    bot = await start_bot()
    viewer = new_viewer()

    sent = await slash(bot, emu, "audit", viewer)

    assert sent.status == 200
    [call] = await posted(emu, sent.response_url)
    assert call.args["response_type"] == "ephemeral"
    assert "`/ops audit` needs the *admin* role; you have *viewer*" in shown(call)
    conn = await asyncpg.connect(bot_db_url, timeout=5)
    try:
        rows = await conn.fetch("SELECT operation, decision, outcome, source FROM audit_log WHERE user_id = $1", viewer)
    finally:
        await conn.close()
    assert [dict(r) for r in rows] == [
        {"operation": "audit", "decision": "denied", "outcome": "refused", "source": "slack"}
    ]


async def test_health_checks_run_concurrently(start_bot: StartBot, emu: SlackEmulator) -> None:
    slow = await start_http_target({"/a": delayed(1.0), "/b": delayed(1.0), "/c": delayed(1.0)})
    try:
        bot = await start_bot(api_url=slow.url, health={"a": "/a", "b": "/b", "c": "/c"}, timeout="3s")

        sent = await slash(bot, emu, "health", new_viewer())

        assert sent.status == 200 and sent.seconds < 1.0
        [call] = await posted(emu, sent.response_url)
        took = call.at - sent.at
        assert took >= 1.0
        assert slow.ran_together(), f"three 1 s checks not run concurrently: {slow.visits}"
        text = shown(call)
        assert "All 3 checks pass" in text, text
        for name in "abc":
            assert re.search(rf"✅ \*API /{name}\* — HTTP 200", text), text
    finally:
        await slow.close()


async def test_a_hung_target_times_out_and_the_bot_keeps_answering(start_bot: StartBot, emu: SlackEmulator) -> None:
    target = await start_http_target({"/health": delayed(0), "/stuck": hangs()})
    try:
        bot = await start_bot(api_url=target.url, health={"api": "/health", "stuck": "/stuck"}, timeout="1s")

        hung = await slash(bot, emu, "health", new_viewer())
        other = await slash(bot, emu, "contacts", new_viewer())

        assert hung.status == 200 and hung.seconds < 1.0, f"ack took {hung.seconds:.3f}s"
        assert other.status == 200 and other.seconds < 1.0
        [answer] = await posted(emu, other.response_url)
        assert "Ana Rojas" in shown(answer)
        [result] = await posted(emu, hung.response_url)
        assert answer.at < result.at, "contacts waited for the hung health check"
        text = shown(result)
        assert re.search(r"\*API /stuck\* — no answer within 1s", text), text
        assert re.search(r"✅ \*API /health\* — HTTP 200", text), text
        assert result.at - hung.at < 2.5
    finally:
        await target.close()


# ---------------------------------------------------------------------- bad input and escaping


BAD_INPUT = {
    "logs": "Usage: `/ops logs",
    "logs api --tail abc": "must be a whole number\nUsage: `/ops logs",
    "'": "I could not read that command",
    "logs ../../etc/passwd": "unknown service; known services: api, postgres, redis\nUsage:",
}


async def test_bad_input_gets_a_short_ephemeral_explanation_never_a_traceback(
    start_bot: StartBot, emu: SlackEmulator
) -> None:
    bot = await start_bot()

    sent = {text: await slash(bot, emu, text, new_viewer()) for text in BAD_INPUT}

    for text, expected in BAD_INPUT.items():
        assert sent[text].status == 200, text
        [call] = await posted(emu, sent[text].response_url)
        message = shown(call)
        assert call.args["response_type"] == "ephemeral", text
        assert expected in message, (text, message)
        assert len(call.args["text"]) < 300, (text, message)
        assert "Traceback" not in message and "error id" not in message, (text, message)
    assert "Traceback" not in bot.stderr(), bot.stderr()


async def test_long_logs_go_up_as_a_file_and_the_message_shows_their_tail(
    start_bot: StartBot, emu: SlackEmulator, compose_project: str
) -> None:
    await wait_for_webhook_lines(compose_project)
    bot = await start_bot(project=compose_project)

    sent = await slash(bot, emu, "logs api --tail 200", new_viewer())

    [call] = await posted(emu, sent.response_url)
    await emu.wait_for("files.completeUploadExternal")
    [upload] = emu.files
    assert upload.name == "api-logs.txt"
    assert upload.channel == CHANNEL or CHANNEL in upload.channels
    file_lines = upload.text.splitlines()
    assert len(file_lines) == 200
    odd = [x for x in file_lines if not LOG_LINE.search(x)]
    assert not odd, odd
    assert any("warn slow query" in x for x in file_lines), "stderr lines missing from the file"
    assert call.args["response_type"] == "in_channel"
    assert f"{len(file_lines)} lines from {compose_project}-api-1" in shown(call)
    inline = code_lines(call)
    assert 0 < len(inline) < len(file_lines)
    assert inline == file_lines[-len(inline) :], "the message does not show the end of the log"


async def test_logs_grep_shows_only_matching_lines(
    start_bot: StartBot, emu: SlackEmulator, compose_project: str
) -> None:
    await wait_for_webhook_lines(compose_project)
    bot = await start_bot(project=compose_project)

    sent = await slash(bot, emu, "logs api --grep webhook --tail 50", new_viewer())

    [call] = await posted(emu, sent.response_url)
    assert "“webhook” matched" in shown(call)
    lines = code_lines(call)
    assert lines, shown(call)
    assert all(re.fullmatch(r".*webhook received payment \d+", line) for line in lines), lines
    assert emu.files == []


async def test_echoed_input_is_escaped_so_it_cannot_ping_anyone(
    start_bot: StartBot, emu: SlackEmulator, compose_project: str
) -> None:
    bot = await start_bot(project=compose_project)

    unknown = await slash(bot, emu, "<!channel>", new_viewer())
    typo = await slash(bot, emu, "stauts <@U123>", new_viewer())
    grep = await slash(bot, emu, "logs api --grep <!here> --tail 5", new_viewer())  # echoed in_channel

    for sent, raw in ((unknown, "<!channel>"), (typo, "<@U123>"), (grep, "<!here>")):
        [call] = await posted(emu, sent.response_url)
        everything = [sent.ack_text, json.dumps(call.args, ensure_ascii=False), shown(call)]
        assert not any(raw in part for part in everything), everything
        assert raw.replace("<", "&lt;").replace(">", "&gt;") in sent.ack_text, sent.ack_text
    assert "There is no command `&lt;!channel&gt;`" in shown((await posted(emu, unknown.response_url))[0])
    [grep_call] = await posted(emu, grep.response_url)
    assert grep_call.args["response_type"] == "in_channel"
    assert "contains “&lt;!here&gt;”" in shown(grep_call), shown(grep_call)


# ---------------------------------------------------------------------- buttons


async def test_a_button_click_runs_its_command_and_answers_on_its_response_url(
    start_bot: StartBot, emu: SlackEmulator
) -> None:
    bot = await start_bot()

    sent = await click(bot, emu, "/ops contacts", new_viewer())

    assert sent.status == 200 and sent.seconds < 1.0
    [call] = await posted(emu, sent.response_url)
    text = shown(call)
    assert "Contacts" in text and "Ana Rojas" in text and "Marta Gil" in text, text


async def test_a_viewer_clicking_an_admin_only_button_is_refused(start_bot: StartBot, emu: SlackEmulator) -> None:
    bot = await start_bot()

    sent = await click(bot, emu, "/ops audit 3", new_viewer())

    assert sent.status == 200
    [call] = await posted(emu, sent.response_url)
    assert call.args["response_type"] == "ephemeral"
    assert "`/ops audit` needs the *admin* role" in shown(call)
    assert "WHEN" not in shown(call)  # no audit table leaked


# ---------------------------------------------------------------------- liveness and metrics


async def test_healthz_reports_the_bots_database_and_redis(start_bot: StartBot) -> None:
    bot = await start_bot()

    status, body = await bot.get("/healthz")

    assert status == 200
    health = json.loads(body)
    assert {k: health[k] for k in ("status", "database", "redis")} == {"status": "ok", "database": "ok", "redis": "ok"}
    for _ in range(100):  # start-up work (learning the bot's identity) may be in the lanes a moment
        if health["work"]["short"]["used"] == 0 and health["work"]["queued"] == 0:
            break
        await asyncio.sleep(0.1)
        health = json.loads((await bot.get("/healthz"))[1])
    assert health["work"]["queued"] == 0 and health["work"]["short"]["used"] == 0, "the lanes' use (bot/core/lanes.py)"
    assert health["work"]["short"]["slots"] == 32 and health["work"]["long"]["per_user"] == 4


async def test_metrics_count_commands_by_outcome_and_time_the_acks(
    start_bot: StartBot, emu: SlackEmulator, api: HttpTarget
) -> None:
    bot = await start_bot(api_url=api.url)
    sent = await slash(bot, emu, "status", new_viewer())
    await posted(emu, sent.response_url)

    status, text = await bot.get("/metrics")

    assert status == 200
    assert re.search(r'^opsbot_commands_total\{operation="status",outcome="\w+"\} 1\.0$', text, re.M), text
    assert re.search(r'^opsbot_ack_seconds_bucket\{le="1\.0"\} 1\.0$', text, re.M), text
    assert re.search(r"^opsbot_ack_seconds_count 1\.0$", text, re.M), text


# ---------------------------------------------------------------------- secrets

DSN_PASSWORD = "hunter2secret"
BOT_DB_PASSWORD = "botdb-e2e-pw-77"
REDIS_PASSWORD = "redis-e2e-pw-42"


async def test_secrets_never_reach_slack_or_the_log(start_bot: StartBot, emu: SlackEmulator, bot_db_url: str) -> None:
    """Tokens and DSN passwords stay out of everything the bot sends Slack and everything it logs,
    even when a target is down (error paths) and when a user echoes one back at the bot."""
    target_db = bot_db_url.rsplit("/", 1)[1]
    bot = await start_bot(
        database_url=bot_db_url.replace("postgres@", f"postgres:{BOT_DB_PASSWORD}@", 1),  # trust auth ignores it
        target_db=f"postgresql://postgres:{DSN_PASSWORD}@127.0.0.1:1/{target_db}",  # down: port 1
        target_redis=f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0",  # down too
    )
    sent = [await slash(bot, emu, text, new_viewer()) for text in ("status", DSN_PASSWORD, BOT_TOKEN, "help")]
    calls = [(await posted(emu, s.response_url))[0] for s in sent]
    status_text = shown(calls[0])
    assert re.search(r"❌ \*Postgres SELECT 1 \(direct\)\* — ", status_text) and re.search(
        r"❌ \*Redis PING \(direct\)\* — ", status_text
    ), status_text
    assert "There is no command `••••`" in shown(calls[1])  # the echo path ran, and was masked
    assert "There is no command `••••`" in shown(calls[2])
    status, _ = await bot.get("/healthz")
    assert status == 200
    await bot.stop()

    recorded = [json.dumps(c.to_json()["args"], ensure_ascii=False) for c in emu.calls()]
    recorded += [json.dumps(c.headers) for c in emu.calls("response_url")]  # no token sent to a response_url
    recorded += [f.text for f in emu.files]
    log = bot.stderr() + bot.stdout()
    for secret in (BOT_TOKEN, SIGNING_SECRET, DSN_PASSWORD, BOT_DB_PASSWORD, REDIS_PASSWORD):
        assert not [r for r in recorded if secret in r], f"{secret!r} sent to Slack"
        assert secret not in log, f"{secret!r} in the bot's output"


async def test_a_secret_typed_into_a_grep_is_not_echoed_into_the_channel(
    start_bot: StartBot, emu: SlackEmulator, compose_project: str, target_db_url: str
) -> None:
    bot = await start_bot(
        project=compose_project, target_db=target_db_url.replace("postgres@", f"postgres:{DSN_PASSWORD}@", 1)
    )

    sent = await slash(bot, emu, f"logs api --grep {DSN_PASSWORD} --tail 5", new_viewer())

    [call] = await posted(emu, sent.response_url)
    assert "No line of" in shown(call), shown(call)
    assert DSN_PASSWORD not in json.dumps(call.args, ensure_ascii=False), shown(call)


# ---------------------------------------------------------------------- a bot database not migrated yet


@pytest.fixture
async def unmigrated_db(run_id: str) -> AsyncIterator[str]:
    """A fresh bot database whose migration cannot run yet: another replica holds the migration lock."""
    name = f"opsbot_{run_id}_fresh"
    admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    holder = await asyncpg.connect(url, timeout=5)
    await holder.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        yield url
    finally:
        await holder.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_command_is_answered_while_the_bot_database_is_not_migrated_yet(
    start_bot: StartBot, emu: SlackEmulator, unmigrated_db: str
) -> None:
    bot = await start_bot(database_url=unmigrated_db, migrate=False)

    sent = await slash(bot, emu, "contacts", new_viewer())

    assert sent.status == 200
    [call] = await posted(emu, sent.response_url, timeout=3)
    assert "Ana Rojas" in shown(call)
