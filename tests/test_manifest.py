"""manifest.yml is a valid Slack app manifest and asks for exactly what ops-bot uses.

The schema is Slack's published app-manifest JSON schema (MIT), vendored in `tests/spec/`
with its licence, so a clone with nothing beside it validates its manifest. A missing schema
is a test failure, not a skip: otherwise CI would go green without ever validating it.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.yml"
SCHEMA_NAME = "slack-manifest.schema.1.0.0.json"
EVENTS_PATH = "/slack/events"  # the route bot/slack/server.py serves for commands, buttons and events

EXPECTED_BOT_SCOPES = {
    "commands",  # the /ops slash command
    "chat:write",  # results, confirmations, escalations
    "chat:write.public",  # the incident channel, without being invited
    "files:write",  # files_upload_v2 of long logs
    "usergroups:read",  # usergroups.users.list for roles
    "usergroups:write",  # usergroups.users.update: an on-call rota's user group
    "im:write",  # conversations.open to page people by DM
    "users:read",  # users.info for names and time zones
}


def spec_dir() -> Path:
    """Slack's schema, vendored in tests/spec/ with its licence; `$OPS_SPEC_DIR` may point at another copy."""
    env = os.environ.get("OPS_SPEC_DIR")
    path = Path(env).expanduser() if env else Path(__file__).resolve().parent / "spec"
    if not (path / SCHEMA_NAME).is_file():
        pytest.fail(f"Slack manifest schema not found at {path / SCHEMA_NAME}")
    return path


@functools.cache
def _schema_at(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validator() -> jsonschema.protocols.Validator:
    schema = _schema_at(spec_dir() / SCHEMA_NAME)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def load_manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


def errors_of(manifest: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator().iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]


def test_manifest_is_valid_against_slack_schema() -> None:
    assert errors_of(load_manifest()) == []


def test_schema_declares_a_draft_jsonschema_knows() -> None:
    schema = _schema_at(spec_dir() / SCHEMA_NAME)
    declared = schema.get("$schema")
    assert declared, "the schema declares no $schema; validator_for would silently fall back to Draft 7"
    assert jsonschema.validators.validator_for(schema, default=None) is not None, f"unknown draft {declared}"


def test_slash_command_is_ops_with_escaping() -> None:
    commands = load_manifest()["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/ops"]
    (ops,) = commands
    assert ops["should_escape"] is True, "the bot parses <@U…|name> mentions, which Slack only sends when escaping"
    assert ops["description"].strip()
    assert ops["usage_hint"].strip()


def test_request_urls_point_at_the_events_route() -> None:
    manifest = load_manifest()
    (ops,) = manifest["features"]["slash_commands"]
    interactivity = manifest["settings"]["interactivity"]
    assert ops["url"].startswith("https://") and ops["url"].endswith(EVENTS_PATH)
    assert interactivity["request_url"] == ops["url"], "commands and buttons go to the same /slack/events"


def test_interactivity_and_socket_mode_settings() -> None:
    settings = load_manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is True, "buttons (confirmations, remedies) need interactivity"
    assert "socket_mode_enabled" in settings, "say explicitly whether the app runs in Socket Mode"
    assert isinstance(settings["socket_mode_enabled"], bool)
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_bot_user() -> None:
    manifest = load_manifest()
    assert manifest["display_information"]["name"] == "ops-bot"
    assert manifest["features"]["bot_user"] == {"display_name": "ops-bot", "always_online": True}


def test_bot_scopes_are_exactly_the_expected_set() -> None:
    """Adding a Web API call that needs a new scope must be a conscious change here too."""
    scopes = load_manifest()["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), f"duplicate scopes: {bot}"
    assert set(bot) == EXPECTED_BOT_SCOPES
    assert not scopes.get("user"), "ops-bot acts as its bot user only; it asks for no user scopes"


def _drop_command_description(m: dict[str, Any]) -> None:
    del m["features"]["slash_commands"][0]["description"]


def _add_unknown_top_level_key(m: dict[str, Any]) -> None:
    m["runbook"] = {"enabled": True}


def _string_should_escape(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["should_escape"] = "yes"


def _command_without_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "ops"


def _interactivity_without_is_enabled(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


def _no_display_information(m: dict[str, Any]) -> None:
    del m["display_information"]


def _misspelled_settings_key(m: dict[str, Any]) -> None:
    m["settings"]["socket_mode"] = m["settings"].pop("socket_mode_enabled")


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (_drop_command_description, "features/slash_commands/0"),
        (_add_unknown_top_level_key, "<root>"),
        (_string_should_escape, "features/slash_commands/0/should_escape"),
        (_command_without_slash, "features/slash_commands/0/command"),
        (_interactivity_without_is_enabled, "settings/interactivity"),
        (_no_display_information, "<root>"),
        (_misspelled_settings_key, "settings"),
    ],
)
def test_schema_rejects_broken_manifests(breakage: Any, where: str) -> None:
    """The validation above can fail: the schema really catches these mistakes."""
    broken = copy.deepcopy(load_manifest())
    breakage(broken)
    errors = errors_of(broken)
    assert errors, f"{breakage.__name__}: the schema accepted a broken manifest"
    assert any(e.startswith(f"{where}: ") for e in errors), errors
