"""The dispatcher's one path: parsing, roles, audit rows, friendly errors."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RuntimeFactory, base_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.runtime import Runtime
from bot.core.dispatcher import Invocation
from bot.core.parsing import bind_words, find_operation, split_words
from bot.core.registry import REGISTRY
from bot.text.errors import UsageError
from bot.text.messages import Catalog


async def audit_rows(runtime: Runtime, request_id: str) -> list[dict[str, Any]]:
    async with runtime.deps.db.connection() as conn:
        rows = await conn.fetch("SELECT * FROM audit_log WHERE request_id = $1", request_id)
    return [dict(r) for r in rows]


def test_quoted_words_and_flags_bind_to_the_model() -> None:
    t = Catalog()
    words = split_words('logs api --tail 20 --grep "payment failed" --since=15m', t)
    parsed = find_operation(words, REGISTRY, "/ops", t)
    assert parsed.operation.name == "logs"
    data = bind_words(parsed.operation, parsed.words, t, "/ops")
    assert data == {"service": "api", "tail": "20", "grep": "payment failed", "since": "15m"}


def test_slack_curly_quotes_group_words() -> None:
    assert split_words("logs api --grep “card declined”", Catalog()) == ["logs", "api", "--grep", "card declined"]


def test_unbalanced_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        split_words('logs "api', Catalog())


async def test_unknown_command_suggests_close_names(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    inv = Invocation("stauts", "U0VIEW", "C1", "slack")
    result = await runtime.dispatcher.dispatch(inv)
    assert not result.ok and result.ephemeral
    assert "Did you mean `/ops status`" in result.summary
    (row,) = await audit_rows(runtime, inv.request_id)
    assert row["decision"] == "unknown"


async def test_viewer_cannot_run_an_admin_command_and_it_is_audited(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    inv = Invocation("audit 5", "U0VIEW", "C1", "slack")
    result = await runtime.dispatcher.dispatch(inv)
    assert not result.ok
    assert "needs the *admin* role" in result.summary and "Nothing was run" in result.summary
    (row,) = await audit_rows(runtime, inv.request_id)
    assert (row["operation"], row["decision"], row["outcome"]) == ("audit", "denied", "refused")


async def test_role_is_checked_before_arguments_so_usage_does_not_leak(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    result = await runtime.dispatcher.dispatch(Invocation("audit not-a-number", "U0VIEW", "C1", "slack"))
    assert "needs the *admin* role" in result.summary


async def test_permissions_override_lowers_a_command(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(extra='permissions:\n  "audit": viewer\n'))
    result = await runtime.dispatcher.dispatch(Invocation("audit 3", "U0VIEW", "C1", "slack"))
    assert result.ok, result.summary


async def test_permissions_override_raises_a_command(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(extra='permissions:\n  "contacts": operator\n'))
    denied = await runtime.dispatcher.dispatch(Invocation("contacts", "U0VIEW", "C1", "slack"))
    allowed = await runtime.dispatcher.dispatch(Invocation("contacts", "U0OPER", "C1", "slack"))
    assert not denied.ok and "*operator*" in denied.summary
    assert allowed.ok


async def test_user_group_membership_grants_its_role(make_runtime: RuntimeFactory) -> None:
    asked: list[str] = []

    async def members(group: str) -> set[str]:
        asked.append(group)
        return {"U0INGROUP"} if group == "S0ADMINS" else set()

    cfg = base_config(roles={"viewer": ["*"], "operator": [], "admin": ["S0ADMINS"]})
    runtime = await make_runtime(cfg, group_members=members)
    assert (await runtime.dispatcher.dispatch(Invocation("audit 1", "U0INGROUP", "C1", "slack"))).ok
    assert not (await runtime.dispatcher.dispatch(Invocation("audit 1", "U0OTHER", "C1", "slack"))).ok
    await runtime.dispatcher.dispatch(Invocation("audit 1", "U0INGROUP", "C1", "slack"))
    assert asked == ["S0ADMINS"], "group members are cached between calls"


async def test_without_star_an_unlisted_user_has_no_role(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(roles={"viewer": ["U0VIEW"], "operator": [], "admin": []}))
    result = await runtime.dispatcher.dispatch(Invocation("contacts", "U0STRANGER", "C1", "slack"))
    assert not result.ok and "you have *no role*" in result.summary


async def test_allowed_channels_refuse_other_channels(make_runtime: RuntimeFactory) -> None:
    cfg = base_config().replace("allowed_channels: []", "allowed_channels: [C0OPS]")
    runtime = await make_runtime(cfg)
    refused = await runtime.dispatcher.dispatch(Invocation("contacts", "U0ADMIN", "C0RANDOM", "slack"))
    allowed = await runtime.dispatcher.dispatch(Invocation("contacts", "U0ADMIN", "C0OPS", "slack"))
    assert not refused.ok and "C0OPS" in refused.summary
    assert allowed.ok


async def test_every_command_writes_one_audit_row_with_duration(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    inv = Invocation("contacts", "U0VIEW", "C1", "slack")
    assert (await runtime.dispatcher.dispatch(inv)).ok
    (row,) = await audit_rows(runtime, inv.request_id)
    assert (row["user_id"], row["channel_id"], row["operation"], row["decision"], row["outcome"]) == (
        "U0VIEW", "C1", "contacts", "allowed", "ok",
    )  # fmt: skip
    assert row["duration_ms"] is not None


async def test_audit_command_filters_by_mentioned_user(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    await runtime.dispatcher.dispatch(Invocation("contacts", "U0MARKER", "C1", "slack"))
    result = await runtime.dispatcher.dispatch(Invocation("audit 5 <@U0MARKER|marker>", "U0ADMIN", "C1", "slack"))
    text = str(result.blocks)
    assert "U0MARKER" in text and "contacts" in text


async def test_help_lists_only_what_the_caller_may_run(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    viewer = str((await runtime.dispatcher.dispatch(Invocation("help", "U0VIEW", "C1", "slack"))).blocks)
    admin = str((await runtime.dispatcher.dispatch(Invocation("help", "U0ADMIN", "C1", "slack"))).blocks)
    assert "/ops audit" not in viewer and "/ops status" in viewer
    assert "/ops audit" in admin


async def test_spanish_locale_speaks_spanish(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation("audit 5", "U0VIEW", "C1", "slack"))
    assert "requiere el rol" in result.summary


async def test_audit_database_down_does_not_block_read_only_commands(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(), migrate=False, database_url="postgresql://postgres@127.0.0.1:1/none")
    result = await runtime.dispatcher.dispatch(Invocation("contacts", "U0VIEW", "C1", "slack"))
    assert result.ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.sampled_from(["logs", "logs api --tail", "audit -1", "health '", "ps ../x"]))
def test_any_text_gets_an_answer_never_a_crash(text: str) -> None:
    """Parsing alone (no targets): every input is either parsed or a UsageError/UnknownCommand."""
    from bot.text.errors import BotError

    t = Catalog()
    try:
        words = split_words(text, t)
        parsed = find_operation(words, REGISTRY, "/ops", t)
        bind_words(parsed.operation, parsed.words, t, "/ops")
    except BotError:
        pass


async def test_help_speaks_spanish_when_configured(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config(locale="es"))
    result = await runtime.dispatcher.dispatch(Invocation("help", "U0VIEW", "C1", "slack"))
    assert "Todos los servicios del stack en un mensaje" in str(result.blocks)
    assert "Lo que puedes ejecutar" in result.title


async def test_help_explains_a_command_selected_by_a_flag(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(base_config())
    result = await runtime.dispatcher.dispatch(Invocation("help logs --follow", "U0OPER", "C1", "slack"))
    assert result.ok and "--follow" in result.title, result.summary


def test_hidden_operations_are_never_suggested() -> None:
    """`/ops aprove` must not offer `/ops approve <id>` (a button's command) to a tired person."""
    import handlers  # noqa: F401  registers every operation
    from bot.core.parsing import find_operation
    from bot.core.registry import REGISTRY
    from bot.text.errors import UnknownCommandError
    from bot.text.messages import Catalog

    hidden = [op.name for op in REGISTRY if op.hidden]
    assert {"approve", "confirm", "cancel", "incident tick"} <= set(hidden)
    for typo in ("aprove", "confrm", "cancl", "incident tik", "incident tic", "aprov"):
        try:
            find_operation(typo.split(), REGISTRY, "/ops", Catalog())
        except UnknownCommandError as exc:
            offered = str(exc.fields.get("suggestion", ""))
            assert not any(f"`/ops {name}`" in offered for name in hidden), (typo, offered)
        else:
            raise AssertionError(f"{typo!r} was taken as a command")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("<@U0DEVOPS|marta>", "U0DEVOPS"),
        ("U0DEVOPS", "U0DEVOPS"),
        ("@U0DEVOPS", "U0DEVOPS"),
        ("@marta", "U0DEVOPS"),
        ("@Marta", "U0DEVOPS"),
        ("@ana", "U0TECHLEAD"),
        ("@jorge", "U0CTO"),
    ],
)
def test_a_person_is_named_the_ways_people_type_them(typed: str, meant: str) -> None:
    from conftest import base_config

    from bot.config.ops_yml import parse_config
    from bot.text.messages import Catalog
    from handlers.oncall import OncallSetArgs

    config = parse_config(base_config())
    args = OncallSetArgs.model_validate({"user": typed}, context={"config": config, "t": Catalog()})
    assert args.user == meant


def test_an_unknown_name_is_a_short_refusal_naming_what_to_type() -> None:
    from conftest import base_config
    from pydantic import ValidationError

    from bot.config.ops_yml import parse_config
    from bot.text.messages import Catalog
    from handlers.oncall import OncallSetArgs

    config = parse_config(base_config())
    with pytest.raises(ValidationError) as caught:
        OncallSetArgs.model_validate({"user": "@nobody"}, context={"config": config, "t": Catalog()})
    assert "nobody in the contact table is called @nobody" in str(caught.value)
