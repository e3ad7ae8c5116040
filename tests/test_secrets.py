"""No configured secret leaves the bot, whatever the session: every recorded output is searched.

A varied session against a real `ops-bot serve` whose every store needs a password (the bot's
own Redis and the stack's Redis run with `requirepass`; the Postgres DSNs carry passwords too),
with secrets typed back at the bot, a confirmed destructive step, a click, an incident whose
title holds a secret (paged and threaded by the escalation worker), and failures while the
bot's Redis and the stack's Redis are down. Then every output is searched for each secret:

* everything Slack received: every Web API call's arguments, every response_url post and file
  upload (and their headers: no token travels to a response_url), every uploaded file;
* every HTTP answer the bot gave (acks and refusals);
* the bot's stdout and stderr;
* every row of every table of the bot's database (audit log, incidents, escalation steps…);
* every key and value the bot wrote in its Redis.

tests/test_slack_http.py (`test_secrets_never_reach_slack_or_the_log`) covers the same for
a shorter session with stores that are down; this one adds the stores, the bot's own data
and the escalation worker's messages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from botproc import BOT_TOKEN, SIGNING_SECRET, BotLauncher
from conftest import base_config
from e2e import Sent, answer, click, new_message_ts, slash
from parts import RedisPart
from slack_emulator import RESPONSE_URL, UPLOAD_URL, SlackEmulator

pytestmark = pytest.mark.timeout(120)

BOT_DB_PASSWORD = "botdb-Pw-7a1e0c"
BOT_REDIS_PASSWORD = "botredis-Pw-93b2d4"
STACK_DB_PASSWORD = "stackdb-Pw-5f0e61"
STACK_REDIS_PASSWORD = "stackredis-Pw-c4d87a"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, BOT_DB_PASSWORD, BOT_REDIS_PASSWORD, STACK_DB_PASSWORD, STACK_REDIS_PASSWORD)
ADMIN, OPERATOR = "U0ADMIN", "U0OPER"
POLICY = """\
escalation:
  sev2:
    - {notify: devops, on_call: true}
"""


def with_password(url: str, password: str) -> str:
    return url.replace("postgres@", f"postgres:{password}@", 1)  # trust auth here: the password rides along


@pytest.fixture
def bot_redis() -> Iterator[RedisPart]:
    part = RedisPart(password=BOT_REDIS_PASSWORD)
    yield part
    part.stop()


@pytest.fixture
def stack_redis() -> Iterator[RedisPart]:
    part = RedisPart(password=STACK_REDIS_PASSWORD)
    yield part
    part.stop()


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def bot_database_text(url: str) -> list[str]:
    """Every row of every table of the bot's database, as JSON text."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        tables = [
            r["table_name"]
            for r in await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ]
        rows = []
        for table in tables:
            rows += [r[0] for r in await conn.fetch(f'SELECT row_to_json(t)::text FROM "{table}" t')]
        return rows
    finally:
        await conn.close()


async def test_no_configured_secret_is_in_anything_the_bot_recorded_or_sent(
    tmp_path: Path,
    emu: SlackEmulator,
    fresh_db_url: str,
    target_db_url: str,
    bot_redis: RedisPart,
    stack_redis: RedisPart,
    compose_project: str,
) -> None:
    stack = stack_redis.client()
    stack.mset({f"tenant:abc123:k{n}": "v" for n in range(3)})
    config = tmp_path / "ops.yml"
    config.write_text(
        base_config(
            project=compose_project,
            target_db=with_password(target_db_url, STACK_DB_PASSWORD),
            target_redis=stack_redis.url,
            extra=POLICY,
        )
    )
    bot_db = with_password(fresh_db_url, BOT_DB_PASSWORD)
    sent: list[Sent] = []
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.serve(config, emu.api_url, bot_db, extra_env={"REDIS_URL": bot_redis.url})

        async def typed(text: str, user: str = ADMIN) -> Sent:
            request = await slash(bot, emu, text, user)
            sent.append(request)
            return request

        for text in (
            "status",
            "health",
            "ps",
            "logs api --tail 5",
            "cache stats",
            "tenant show abc123",
            "db connections",
            "help",
            "audit 20",
            *(f"{secret}" for secret in SECRETS),
            *(f"logs api --grep {secret} --tail 5" for secret in SECRETS),
            *(f"tenant show {secret}" for secret in SECRETS),
            *(f"cache flush-tenant {secret}" for secret in SECRETS),
            f"incident declare sev2 checkout leaks {STACK_DB_PASSWORD} and {BOT_TOKEN}",
        ):
            await answer(emu, await typed(text))

        preview = await answer(emu, await typed("cache flush-tenant abc123", OPERATOR), lambda t: "Confirm" in t)
        confirm = await click(bot, emu, preview.button("confirm"), OPERATOR, message_ts=new_message_ts())
        sent.append(confirm)
        await answer(emu, confirm, lambda t: "done" in t)
        sent.append(await click(bot, emu, "/ops contacts", ADMIN))
        await answer(emu, sent[-1])
        await emu.wait_for("chat.postMessage", count=2, timeout=10)  # the incident's thread and its page

        bot_redis.stop()
        await answer(emu, await typed("cache flush-tenant abc123", OPERATOR), lambda t: "refused" in t)
        stack_redis.stop()
        await answer(emu, await typed("cache ping"), lambda t: "redis" in t)
        await answer(emu, await typed("status"))
        await asyncio.sleep(0.5)
        bot_redis.start()
        own_keys = {k: bot_redis.client().get(k) for k in bot_redis.client().scan_iter(count=1000)}
        await bot.stop()

    outputs: dict[str, list[str]] = {
        "Slack Web API arguments": [json.dumps(c.to_json()["args"], ensure_ascii=False) for c in emu.calls()],
        "response_url and upload headers": [
            json.dumps(c.headers) for c in emu.calls() if c.method in (RESPONSE_URL, UPLOAD_URL)
        ],
        "uploaded files": [f.text for f in emu.files],
        "HTTP answers (acks)": [s.answer for s in sent],
        "bot stdout/stderr": [bot.stdout(), bot.stderr()],
        "bot database rows": await bot_database_text(fresh_db_url),
        "bot Redis": [repr(own_keys)],
    }
    assert len(emu.calls(RESPONSE_URL)) >= len(sent) - 1, "the session did not run as planned"  # one was an edit
    leaks = [
        f"{where}: {secret!r} in …{text[max(0, text.find(secret) - 100) : text.find(secret) + 40]}…"
        for where, texts in outputs.items()
        for secret in SECRETS
        for text in texts
        if secret in text
    ]
    assert not leaks, "\n".join(leaks)
    stack.close()
