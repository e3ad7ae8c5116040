"""Argument types shared by operations, validated against ops.yml through validation context.

A validator gets `info.context` = {"config": OpsConfig, "t": Catalog}, so `ServiceName`
accepts only the services ops.yml lists, and its message comes from the catalog.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from bot.config.ops_yml import OpsConfig
from bot.text.durations import parse_duration
from bot.text.messages import Catalog


def positional(default: Any = ..., *, metavar: str | None = None, greedy: bool = False, **kwargs: Any) -> Any:
    """A field filled from bare words, in declaration order."""
    extra: dict[str, Any] = {"positional": True, "greedy": greedy}
    if metavar:
        extra["metavar"] = metavar
    return Field(default, json_schema_extra=extra, **kwargs)


def option(
    default: Any = None,
    *,
    metavar: str | None = None,
    bare: str | None = None,
    value_pattern: str | None = None,
    **kwargs: Any,
) -> Any:
    """A field filled from `--name value`; with `bare`, `--name` alone means `--name <bare>`, and
    the next word is taken as the value only if it matches `value_pattern`."""
    extra: dict[str, Any] = {"metavar": metavar} if metavar else {}
    if bare is not None:
        extra["bare"] = bare
    if value_pattern is not None:
        extra["value_pattern"] = value_pattern
    return Field(default, json_schema_extra=extra, **kwargs)


DURATION_WORD = r"\d+(?:\.\d+)?(?:ms|s|m|h|d)?(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))*"


def _ctx(info: ValidationInfo) -> tuple[OpsConfig | None, Catalog]:
    context = info.context or {}
    return context.get("config"), context.get("t") or Catalog()


def _service(value: str, info: ValidationInfo) -> str:
    """The configured name, matched in any case (phones capitalise `API`): an exact match wins,
    then the one service whose name differs only in case."""
    config, t = _ctx(info)
    services = config.services if config else []
    if value in services:
        return value
    same = [s for s in services if s.casefold() == value.casefold()]
    if len(same) != 1:
        raise ValueError(t("arg.unknown_service", services=", ".join(services) or "—"))
    return same[0]


def _check(value: str, info: ValidationInfo) -> str:
    config, t = _ctx(info)
    checks = list(config.stack.api.health) if config and config.stack.api else []
    if value not in checks:
        raise ValueError(t("arg.unknown_check", checks=", ".join(checks) or "—"))
    return value


def _duration(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str):
        _, t = _ctx(info)
        try:
            return parse_duration(value)
        except ValueError:
            raise ValueError(t("arg.bad_duration")) from None
    return value


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _user(value: str, info: ValidationInfo) -> str:
    """A person: Slack's escaped mention `<@U123|ana>`, `U123`, `@U123`, or `@name` of the contact
    table (a contact's full name, first name or e-mail name, in any case), as people type them."""
    match = _MENTION.match(value)
    if match:
        return match.group(1)
    bare = value.removeprefix("@")
    if _USER_ID.match(bare):
        return bare
    config, t = _ctx(info)
    if value.startswith("@") and config is not None and bare:
        wanted = bare.lower().replace("_", " ").replace(".", " ")
        found = {
            c.slack
            for c in config.contacts
            if wanted in (c.name.lower(), c.name.split()[0].lower(), (c.email or "").split("@")[0].lower())
        }
        if len(found) == 1:
            return found.pop()
        if len(found) > 1:
            raise ValueError(t("arg.user_ambiguous", name=value, users=", ".join(sorted(found))))
        raise ValueError(t("arg.user_unknown", name=value[:40]))
    raise ValueError(t("arg.bad_user"))


ServiceName = Annotated[str, Field(max_length=64), AfterValidator(_service)]
CheckName = Annotated[str, Field(max_length=64), AfterValidator(_check)]
DurationArg = Annotated[timedelta, BeforeValidator(_duration)]
SlackUser = Annotated[str, Field(max_length=120), AfterValidator(_user)]
