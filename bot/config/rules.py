"""The checks of single ops.yml values that a tired person gets wrong, each with its own sentence.

Each function takes the value and returns it or raises ValueError with a short message, so
the models in ops_yml.py stay declarations. `Located` is the one exception to that: a check
of a whole list or model that knows *which* entry is wrong raises it with paths relative to
the value checked, and parse_config reports each at that entry's own line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter
from pydantic import BeforeValidator

from bot.text.durations import Duration

_SLASH_COMMAND = re.compile(r"/[a-z0-9_\-]+")
#: Slack user ids start with U (or W on Enterprise Grid), user-group ids with S.
_MEMBER = re.compile(r"\*|[UW][A-Z0-9]{2,}|S[A-Z0-9]{2,}")
_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_GROUP = re.compile(r"S[A-Z0-9]{2,}")
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


class Located(ValueError):
    """Mistakes found inside the value being validated, each at a path relative to it."""

    def __init__(self, problems: Sequence[tuple[tuple[Any, ...], str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def slash_command(value: str) -> str:
    """`command: ops` would never match what Slack sends (`/ops`): every slash command stays unanswered."""
    if not _SLASH_COMMAND.fullmatch(value):
        hint = f"/{value.strip().lstrip('/').lower()}" if value.strip() else "/ops"
        raise ValueError(f"a slash command starts with / and has no spaces, like {hint}")
    return value


def http_url(value: str) -> str:
    """`localhost:3000` parses as a URL of scheme `localhost`: every request would fail later, obscurely.

    The value is not repeated in the message: a webhook URL carries its secret in the path."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not a full URL: it must start with http:// or https://, like http://localhost:3000")
    return value


def cron_line(value: str | None) -> str | None:
    """A schedule that cannot fire (`0 25 * * *`, `0 0 31 2 *`) would leave the nightly backup silently undone.

    Five fields only: croniter also reads six or seven (seconds, years), where `0 2 * * * *`
    would fire every second of 02:00."""
    if value is None:
        return None
    line = value.strip()
    if line.lower() in _CRON_MACROS:
        return value
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron line has 5 fields (minute hour day-of-month month day-of-week), not {len(fields)}; "
            'like "0 2 * * *"'
        )
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for number in re.findall(r"(?<![/\d])\d+", text):  # not a step's divisor (*/15)
            if not low <= int(number) <= high:
                raise ValueError(f"{name} {number} is out of range ({low}-{high}): this line would never fire")
    try:
        croniter(line, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError("this cron line names no date that exists: it would never fire") from None
    except (CroniterBadCronError, CroniterNotAlphaError, ValueError):
        raise ValueError('not a cron line (minute hour day-of-month month day-of-week), like "0 2 * * *"') from None
    return value


def role_members(values: list[str]) -> list[str]:
    """A role entry that is a name (`@marta`, `marta`) matches nobody: the role would silently be empty."""
    problems = [
        ((n,), f'{value!r} is not a Slack user id (U…/W…), a user group id (S…) or "*"')
        for n, value in enumerate(values)
        if not _MEMBER.fullmatch(value)
    ]
    if problems:
        raise Located(problems)
    return values


def slack_user(value: str) -> str:
    """A contact is paged by a direct message to this id: a name or a group id reaches nobody."""
    if not _USER.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack user id (U…/W…): pages are sent to this id")
    return value


def slack_users(values: list[str]) -> list[str]:
    """A rota member written as a name (`marta`) is never on call: each must be a user id."""
    problems = [((n,), f"{v!r} is not a Slack user id (U…/W…)") for n, v in enumerate(values) if not _USER.fullmatch(v)]
    if problems:
        raise Located(problems)
    return values


def usergroup_id(value: str | None) -> str | None:
    """`usergroup: oncall` names no group: the sync would fail at every hand-off."""
    if value is not None and not _GROUP.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack user group id (S…)")
    return value


def distinct(values: list[str]) -> list[str]:
    """A service listed twice is a copy-paste slip that hides the one that was meant."""
    first: dict[str, int] = {}
    problems = []
    for n, value in enumerate(values):
        if value in first:
            problems.append(((n,), f"{value!r} is listed twice (also entry {first[value] + 1})"))
        else:
            first[value] = n
    if problems:
        raise Located(problems)
    return values


# ---- i24b: values that loaded fine and failed later ---------------------------------------------

_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,}")
DIAGNOSE_TOPICS = ("api", "db", "redis", "payments", "slow")
"""What `/ops diagnose` takes (handlers/diagnose.py's Section; a test keeps the two equal)."""


def channel_id(value: str | None) -> str | None:
    """`#incidents` is a name: Slack posts only to an id, so every incident or alert would fail to post."""
    if value is not None and not _CHANNEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a channel id (C…/G…): Slack posts to ids, not names; "
            "copy it from the channel's details (About, at the bottom)"
        )
    return value


def diagnose_topic(value: str | None) -> str | None:
    """A rule's `diagnose: apii` would add a Diagnose button that answers "unknown section" at 3 AM."""
    if value is None or value in DIAGNOSE_TOPICS:
        return value
    close = difflib.get_close_matches(value, DIAGNOSE_TOPICS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{value!r} is not a diagnose topic ({', '.join(DIAGNOSE_TOPICS)}){hint}")


def some_names(values: list[str]) -> list[str]:
    """`queues: []` says "no queue" where leaving the key out means "every queue the board has"."""
    if not values:
        raise ValueError("an empty list: name at least one queue (like [payments]), or leave the key out for all")
    return values


def _with_unit(value: Any) -> Any:
    """`timeout: 5` is 5 what? A bare number in ops.yml is refused; `5s`, `500ms`, `2m` are read."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)):
        number = str(value).strip()
        raise ValueError(f"{number} has no unit: write {number}s (or {number}ms, {number}m, {number}h)")
    return value


ConfigDuration = Annotated[Duration, BeforeValidator(_with_unit)]
"""A duration in ops.yml: as `Duration`, but its unit must be written."""
