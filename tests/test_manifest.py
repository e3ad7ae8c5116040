"""manifest.yml is a valid Slack app manifest and asks for exactly what ops-bot uses.

The schema is Slack's published app-manifest JSON schema (MIT), vendored in `tests/spec/`
with its licence, so a clone with nothing beside it validates its manifest. A missing schema
is a test failure, not a skip: otherwise CI would go green without ever validating it.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.yml"
SCHEMA_NAME = "slack-manifest.schema.1.0.0.json"
EVENTS_PATH = "/slack/events"  # the route bot/slack/server.py serves for commands, buttons and events

#: The Web API methods the code may call and the bot scopes each needs *as ops-bot calls it*
#: (from https://docs.slack.dev/reference/methods/<method>; tests/slack_emulator.py's METHODS
#: holds the same reference per conversation type). conversations.history/replies read back a
#: page's DM (im:history) and the incident channel's thread, which may be public
#: (channels:history) or private (groups:history). A method the code calls that is missing
#: here fails test_every_method_the_code_calls_has_its_scopes: add it with its scopes.
SCOPES_OF_METHOD: dict[str, tuple[str, ...]] = {
    "apps.connections.open": (),  # the app-level token's connections:write, not a bot scope
    "auth.test": (),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write", "chat:write.public"),  # .public: the incident channel, uninvited
    "chat.update": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.open": ("im:write",),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "files.completeUploadExternal": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "usergroups.users.update": ("usergroups:write",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.publish": (),  # needs the app_home_opened event and the Home tab, not a scope
    "views.update": (),
}

#: Scopes that no Web API call needs but a manifest feature does.
FEATURE_SCOPES = {"commands": "the /ops slash command (features.slash_commands)"}

#: Calls another branch adds in parallel, whose scopes the manifest already asks for so the
#: app is installed once. Remove an entry as soon as the code calls the method (a test says so).
ANTICIPATED: dict[str, str] = {}

EXPECTED_BOT_SCOPES = {
    "commands",  # the /ops slash command
    "chat:write",  # results, confirmations, escalations
    "chat:write.public",  # the incident channel, without being invited
    "channels:history",  # read a public incident channel's thread back before re-sending a step
    "groups:history",  # the same for a private incident channel
    "im:history",  # read a page's DM back before re-sending it
    "files:write",  # files_upload_v2 of long logs
    "usergroups:read",  # usergroups.users.list for roles
    "usergroups:write",  # usergroups.users.update: a rota hands the on-call group over
    "im:write",  # conversations.open to page people by DM
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
    assert manifest["settings"]["event_subscriptions"]["request_url"] == ops["url"], "and events (App Home)"


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


# ---------------------------------------------------------------------- the scopes the code needs

CODE_DIRS = (REPO / "bot", REPO / "handlers")
_NOT_WEB_API = {"api_call", "close", "_request", "_perform_urllib_http_request"}


def _api_methods_of(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The Web API methods slack_sdk's `AsyncWebClient.<name>` calls, read from its source:
    `api_call("chat.postMessage", ...)`, and the methods it calls in turn (files_upload_v2
    calls files.getUploadURLExternal and files.completeUploadExternal)."""
    from slack_sdk.web.async_client import AsyncWebClient

    source = inspect.getsource(getattr(AsyncWebClient, name))
    found = set(re.findall(r'api_call\(\s*"([a-zA-Z.]+)"', source))
    for inner in re.findall(r"self\.(\w+)\(", source):
        if inner not in seen and inner not in _NOT_WEB_API and callable(getattr(AsyncWebClient, inner, None)):
            found |= _api_methods_of(inner, seen | {name})
    return found


def _all_web_api_names() -> set[str]:
    from slack_sdk.web.async_client import AsyncWebClient

    names: set[str] = set()
    for attr, value in vars(AsyncWebClient).items():
        if callable(value) and not attr.startswith("_"):
            names |= set(re.findall(r'api_call\(\s*"([a-zA-Z.]+)"', inspect.getsource(value)))
    return names


def methods_called_by_the_code(dirs: tuple[Path, ...] = CODE_DIRS) -> dict[str, set[str]]:
    """Every Web API method bot/ and handlers/ can call, with the files that call it.

    Two shapes, found in the syntax tree: a call of an AsyncWebClient method by name
    (`client.chat_postMessage(...)`, `self.client.files_upload_v2(...)`), and a string that
    is a Web API method's name (`self._call("conversations.history", ...)`,
    `client.api_call(method, ...)` with `method` one of them)."""
    from slack_sdk.web.async_client import AsyncWebClient

    known = _all_web_api_names()
    found: dict[str, set[str]] = {}
    for path in sorted(p for d in dirs for p in d.rglob("*.py")):
        rel = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            methods: set[str] = set()
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr = node.func.attr
                if (
                    attr not in _NOT_WEB_API
                    and callable(getattr(AsyncWebClient, attr, None))
                    and re.match(r"^[a-z]+_[a-zA-Z_0-9]+$", attr)
                ):
                    methods = _api_methods_of(attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
                methods = {node.value}
            for method in methods:
                found.setdefault(method, set()).add(rel)
    return found


def test_the_scan_finds_the_calls_the_code_is_known_to_make() -> None:
    """The discovery itself can fail: it must see the calls each shape makes today."""
    found = methods_called_by_the_code()
    assert "bot/incidents/notify.py" in found["conversations.history"]  # self._call("conversations.history")
    assert "bot/incidents/notify.py" in found["conversations.replies"]
    assert "bot/slack/app.py" in found["usergroups.users.list"]  # client.usergroups_users_list(...)
    assert "bot/slack/app.py" in found["files.getUploadURLExternal"]  # through files_upload_v2
    assert "bot/slack/modal.py" in found["views.open"]


def test_the_scan_sees_a_new_call_in_a_new_file(tmp_path: Path) -> None:
    (tmp_path / "new.py").write_text(
        "async def f(client):\n    await client.reactions_add(channel='C1', name='eyes', timestamp='1')\n"
        "    await client.api_call('pins.add', json={})\n"
    )
    assert set(methods_called_by_the_code((tmp_path,))) == {"reactions.add", "pins.add"}


def test_every_method_the_code_calls_has_its_scopes_in_the_manifest() -> None:
    granted = set(load_manifest()["oauth_config"]["scopes"]["bot"])
    found = methods_called_by_the_code()
    unknown = {m: sorted(files) for m, files in found.items() if m not in SCOPES_OF_METHOD}
    assert not unknown, f"methods with no entry in SCOPES_OF_METHOD (add them with their scopes): {unknown}"
    missing = {m: sorted(set(SCOPES_OF_METHOD[m]) - granted) for m in found if set(SCOPES_OF_METHOD[m]) - granted}
    assert not missing, f"manifest.yml lacks scopes the code's calls need: {missing}"


def test_the_manifest_asks_for_no_scope_the_code_does_not_need() -> None:
    granted = set(load_manifest()["oauth_config"]["scopes"]["bot"])
    found = set(methods_called_by_the_code()) | set(ANTICIPATED)
    needed = {scope for m in found for scope in SCOPES_OF_METHOD.get(m, ())} | set(FEATURE_SCOPES)
    assert granted - needed == set(), f"scopes no call needs (drop them from manifest.yml): {granted - needed}"


def test_an_anticipated_call_leaves_the_list_once_the_code_makes_it() -> None:
    found = methods_called_by_the_code()
    landed = sorted(m for m in ANTICIPATED if m in found)
    assert not landed, f"the code now calls {landed}: remove them from ANTICIPATED (their scopes stay needed)"


def test_every_scope_table_entry_agrees_with_the_emulators_reference() -> None:
    """The two tables (this one by use, the emulator's by Slack's reference) say the same."""
    from slack_emulator import METHODS, SlackEmulator

    emu = SlackEmulator()
    for method, scopes in SCOPES_OF_METHOD.items():
        assert method in METHODS, f"{method} is unknown to tests/slack_emulator.py's METHODS"
        if METHODS[method].conversation:
            for channel in ("C0INC", "G0INC", "D0DM"):
                assert set(emu.needed_scopes(method, {"channel": channel})) <= set(scopes), (method, channel)
        else:
            assert set(emu.needed_scopes(method, {})) <= set(scopes), method


def test_the_home_tab_is_on_with_its_event() -> None:
    """views.publish shows the Home tab only when the app has one and hears app_home_opened."""
    manifest = load_manifest()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
