"""Bad input, generated: any text typed or clicked gets a short answer, never a traceback or an
internal-error id, never an unescaped Slack mention, and never a changed target.

Words are drawn from what people and attackers actually send (quotes, globs, path traversal,
SQL, shell, Slack markup, unicode, very long strings) mixed with hypothesis's random text,
after the name of every registered operation. The parser alone gets many examples; the
whole dispatcher (as an admin, so arguments are validated and handlers and previews run)
gets a moderate number against tests/harmless_stack.py, whose state is compared after
each example. Destructive steps stop at their preview: nothing here ever confirms.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from harmless_stack import HarmlessStack, harmless_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.dispatcher import Invocation
from bot.core.parsing import bind_words, find_operation, split_words, validate_args
from bot.core.registry import REGISTRY
from bot.output.slack import render_slack
from bot.text.errors import BotError

pytestmark = pytest.mark.timeout(300)

ADMIN = "U0ADMIN"
ROLES = {"viewer": ["*"], "operator": ["U0OPER"], "admin": [ADMIN, "U0ADMIN2"]}
MAX_ERROR = 700
"""The longest refusal a person should have to read (usage lines included)."""

# Slack markup that must never come back live: it would ping a channel, a person or link away.
MARKUP = ("<!channel>", "<!here>", "<!everyone>", "<@U0EVIL>", "<@U0EVIL|boss>", "<#C0EVIL>", "<https://evil.test|x>")
NASTY = (
    *MARKUP,
    *("*", "abc*", "a?c", "[a-z]*", "tenant:*", "abc123*", "\\*"),
    *("../../etc/passwd", "/etc/shadow", "..", "..\\..\\boot.ini", "%2e%2e%2f", "api/../postgres", "~root"),
    *("'; DROP TABLE tenants; --", "abc123' OR '1'='1", '" OR 1=1 --', "1; DELETE FROM tenants", "$1", "tenants"),
    *("$(id)", "`id`", "; rm -rf /", "| cat /etc/passwd", "&& reboot", "${OPS_CONFIG}", "{migration}"),
    *('"', "'", "“", "”", "‘", '"unclosed', "'a b'", '"a b"', "\\"),
    *("\x00", "\u202e", "\u200b", "🔥", "ñandú", "日本語", "\t", "\n", "\r\n", " "),
    *("--tail", "--tail=-1", "--tail=99999999999999999999", "--grep", "--since=999y", "--follow", "--", "-x", "--=x"),
    *("x" * 300, "y" * 5000, "9" * 40, "-1", "0", "1e9", "NaN", "0x10", "１２３"),
    *("api", "postgres", "redis", "abc123", "zz9", "payments", "all", "sev1", "sev2", "AAAAAAAAAAAA"),
)
WORD = st.one_of(st.sampled_from(NASTY), st.text(max_size=30), st.text(st.characters(codec="utf-8"), max_size=8))
ARGS = st.lists(WORD, max_size=6).map(" ".join)
NAMES = sorted(op.name for op in REGISTRY)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, target_db_url: str, redis_prefix: str
) -> AsyncIterator[HarmlessStack]:
    async with harmless_stack(tmp_path_factory.mktemp("bad-input"), target_db_url, redis_prefix, ROLES) as built:
        yield built


@pytest.mark.asyncio(loop_scope="module")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(NAMES), args=ARGS)
async def test_the_parser_turns_any_words_into_arguments_or_a_short_usage_error(
    stack: HarmlessStack, name: str, args: str
) -> None:
    dispatcher = stack.runtime.dispatcher
    t = dispatcher.t
    try:
        words = split_words(f"{name} {args}", t)
        parsed = find_operation(words, REGISTRY, "/ops", t)
        data = bind_words(parsed.operation, parsed.words, t, "/ops")
        validate_args(parsed.operation, data, {"config": stack.runtime.deps.config, "t": t}, t, "/ops")
    except BotError as exc:
        message = t(exc.key, **exc.fields)
        assert len(message) <= MAX_ERROR, message


@pytest.mark.asyncio(loop_scope="module")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(NAMES), args=ARGS, clicked=st.booleans())
async def test_any_command_text_gets_a_short_escaped_answer_and_changes_no_target(
    stack: HarmlessStack, name: str, args: str, clicked: bool
) -> None:
    before = await stack.snapshot()
    text = f"{name} {args}"
    inv = Invocation(f"/ops {text}" if clicked else text, ADMIN, "C0OPS", "button" if clicked else "slack")

    result = await stack.runtime.dispatcher.dispatch(inv)

    shown = render_slack(result)  # slack_sdk's models check Slack's own limits here
    everything = shown.text + json.dumps(shown.blocks, ensure_ascii=False)
    assert "Traceback" not in everything, everything
    assert "inside the bot (error id" not in everything, everything
    if not result.ok:
        assert len(result.summary) <= MAX_ERROR, result.summary
    for markup in MARKUP:
        assert markup not in everything, (markup, everything)
    after = await stack.snapshot()
    if name == "db backup":  # taking a backup is its job; every other target stays as it was
        after.backups = before.backups
    assert after == before, f"`{text}` changed a target"
