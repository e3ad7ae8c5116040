"""A DSN password given as a libpq query parameter (`?password=`) is a known secret too.

The stack's DSN here really is used (the run's Postgres trusts the connection and ignores the
password): `tenant show` reads the row through it. Typing the password back, raw or as the
DSN spells it percent-encoded, reaches neither the answer nor the incidents table.
"""

from __future__ import annotations

import asyncpg
from conftest import RuntimeFactory, base_config

from bot.core.dispatcher import Invocation
from bot.output.terminal import render_text

PASSWORD = "Qs3cret+Pw"
ENCODED = "Qs3cret%2BPw"
POLICY = "escalation:\n  sev2:\n    - {notify: tech_lead}\n"
SSL_PASSPHRASE = "k3y-Passphrase"


async def test_a_query_string_password_of_the_stacks_dsn_is_redacted(
    make_runtime: RuntimeFactory, target_db_url: str, bot_db_url: str
) -> None:
    dsn = f"{target_db_url}?password={ENCODED}&sslpassword={SSL_PASSPHRASE}&application_name=opsbot"
    runtime = await make_runtime(base_config(target_db=dsn, extra=POLICY))
    shown = await runtime.dispatcher.dispatch(Invocation("tenant show abc123", "U0VIEW", "C1", "slack"))
    assert shown.ok and "Tienda ABC" in render_text(shown).text, render_text(shown).text

    text = f"incident declare sev2 db login {PASSWORD} / {ENCODED} / {SSL_PASSPHRASE} failing"
    result = await runtime.dispatcher.dispatch(Invocation(text, "U0VIEW", "C1", "slack"))
    answer = render_text(result).text
    conn = await asyncpg.connect(bot_db_url)
    try:
        title = await conn.fetchval("SELECT title FROM incidents ORDER BY id DESC LIMIT 1")
        audit = await conn.fetchval(
            "SELECT arguments::text FROM audit_log WHERE operation = 'incident declare' ORDER BY id DESC LIMIT 1"
        )
    finally:
        await conn.close()
    assert title == "db login •••• / •••• / •••• failing", (title, answer)
    for secret in (PASSWORD, ENCODED, SSL_PASSPHRASE):
        assert secret not in answer and secret not in title and secret not in audit, (secret, answer, audit)
