"""From `/ops` text to an operation and its validated argument model.

Words are split like a shell does (quotes group words; Slack's curly quotes count as
quotes), the longest run of leading words that names an operation wins (`db restore`
before `db`), then `--flag value` / `--flag=value` fill named fields and the remaining
words fill positional fields in declaration order. Every failure is a UsageError whose
text the user sees, with the usage line; nothing is run.

An option declared with `bare=` may come without its value (`--follow` means
`--follow 2m`); the next word is its value only when it matches the option's
`value_pattern`. An operation named `logs --follow` is a variant of `logs` that the flag
selects, with its own role (a viewer may read logs, only an operator may tail them live).
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from bot.core.registry import OpArgs, Operation, Registry
from bot.text.errors import UnknownCommandError, UsageError
from bot.text.messages import Catalog
from bot.text.synonyms import english_command

MAX_TEXT = 4000
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "\u00a0": " "})


def split_words(text: str, t: Catalog) -> list[str]:
    """Shell-like split; an unbalanced quote is a usage error, not a crash."""
    if len(text) > MAX_TEXT:
        raise UsageError("error.parse", detail=t("arg.too_long", limit=MAX_TEXT))
    try:
        return shlex.split(text.translate(_QUOTES), posix=True)
    except ValueError:  # shlex's own words ("No closing quotation") are English only
        raise UsageError("error.parse", detail=t("arg.unbalanced_quote")) from None


@dataclass(frozen=True)
class Parsed:
    operation: Operation
    words: list[str]


def find_operation(words: list[str], registry: Registry, prefix: str, t: Catalog) -> Parsed:
    """The operation named by the longest run of leading words."""
    if not words:
        words = ["help"]
    for length in range(min(3, len(words)), 0, -1):
        op = registry.get(" ".join(words[:length]).lower())
        if op is not None and " --" not in op.name:
            return Parsed(_variant(registry, op, words[length:]), words[length:])
    asked = " ".join(words[:2]).lower()
    # a hidden operation (confirm, approve, incident tick…) is a button's, never a suggestion
    names = [name for name, op in registry.operations.items() if not op.hidden and " --" not in name]
    english = english_command(words)
    if english is not None:  # `reinicia api`: the same command in the bot's words
        suggestion = t("error.did_you_mean", names=f"`{prefix} {english}`")
        raise UnknownCommandError(command=words[0][:40], suggestion=suggestion, prefix=prefix)
    # a near spelling only: a poorer match (`reinicia` ~ `incident ack`) misleads more than it helps
    close = difflib.get_close_matches(asked, names, n=3, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(words[0].lower(), names, n=3, cutoff=0.6)
    if not close:
        close = [n for n in names if n.split()[0] == words[0].lower()][:5]
    suggestion = t("error.did_you_mean", names=", ".join(f"`{prefix} {n}`" for n in close)) if close else ""
    raise UnknownCommandError(command=words[0][:40], suggestion=suggestion, prefix=prefix)


def _variant(registry: Registry, op: Operation, rest: list[str]) -> Operation:
    """`logs --follow`: the operation a flag in `rest` selects, or `op` itself."""
    for word in rest:
        if word.startswith("--") and len(word) > 2:
            variant = registry.get(f"{op.name} {word.partition('=')[0].lower()}")
            if variant is not None:
                return variant
    return op


def _value_follows(extra: dict[str, Any], words: list[str], index: int) -> bool:
    """Whether the word after a `bare=` option is its value (else the option stands alone)."""
    if index + 1 >= len(words) or words[index + 1].startswith("--"):
        return False
    return re.fullmatch(str(extra.get("value_pattern", ".*")), words[index + 1]) is not None


def _extra(info: FieldInfo) -> dict[str, Any]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def bind_words(op: Operation, words: list[str], t: Catalog, prefix: str) -> dict[str, Any]:
    """Assign words to the model's fields, before validation."""
    fields = op.args.model_fields
    positional = [name for name, info in fields.items() if _extra(info).get("positional")]
    greedy = any(_extra(fields[name]).get("greedy") for name in positional)
    data: dict[str, Any] = {}
    loose: list[str] = []
    index = 0
    usage = op.usage(prefix)
    while index < len(words):
        word = words[index]
        if word.startswith("--") and len(word) > 2:
            flag, _, inline = word[2:].partition("=")
            name = flag.replace("-", "_").lower()
            info = fields.get(name)
            if info is None or _extra(info).get("positional"):
                if greedy:  # free text (a title, a command to explain) may contain `--words`
                    loose.append(word)
                    index += 1
                    continue
                raise UsageError(detail=t("arg.unknown_flag", flag=flag[:40]), usage=usage)
            if info.annotation is bool and not inline:
                data[name] = True
            elif inline or "=" in word:
                data[name] = inline
            elif "bare" in _extra(info) and not _value_follows(_extra(info), words, index):
                data[name] = _extra(info)["bare"]
            elif index + 1 < len(words):
                index += 1
                data[name] = words[index]
            else:
                raise UsageError(detail=t("arg.flag_needs_value", flag=flag[:40]), usage=usage)
        else:
            loose.append(word)
        index += 1
    for name in positional:
        if not loose:
            break
        if _extra(fields[name]).get("greedy"):
            data[name] = " ".join(loose)
            loose = []
        else:
            data[name] = loose.pop(0)
    if loose:
        raise UsageError(detail=t("arg.extra", value=loose[0][:60]), usage=usage)
    return data


def _explain(err: Any, t: Catalog) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return t("arg.missing", field=_field_name(err))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        detail = t("arg.not_int")
    elif kind in ("greater_than_equal", "greater_than"):
        detail = t("arg.too_small", limit=ctx.get("ge", ctx.get("gt")))
    elif kind in ("less_than_equal", "less_than"):
        detail = t("arg.too_big", limit=ctx.get("le", ctx.get("lt")))
    elif kind == "string_too_long":
        detail = t("arg.too_long", limit=ctx.get("max_length"))
    elif kind in ("literal_error", "enum"):
        detail = t("arg.choice", choices=_choices(str(ctx.get("expected", "")), t))
    elif kind == "value_error" and isinstance(ctx.get("error"), ValueError) and ctx["error"].args:
        detail = str(ctx["error"].args[0])  # our validators raise catalog sentences
    elif kind in _PYDANTIC_KEYS:
        detail = t(_PYDANTIC_KEYS[kind], limit=ctx.get("min_length", ""))
    else:  # pydantic's own sentence is English: a Spanish reader gets the catalog's generic one
        detail = err["msg"] if t.locale == "en" else t("arg.not_valid")
    return t("arg.invalid", field=_field_name(err), detail=detail)


# pydantic error types an argument can hit, each with its sentence in the catalog (issue 13)
_PYDANTIC_KEYS = {
    "string_pattern_mismatch": "arg.bad_form",
    "string_too_short": "arg.too_short",
    "float_parsing": "arg.not_number",
    "float_type": "arg.not_number",
    "finite_number": "arg.not_number",
    "bool_parsing": "arg.not_bool",
    "string_type": "arg.not_valid",
    "time_delta_parsing": "arg.bad_duration",
    "time_delta_type": "arg.bad_duration",
}


def _choices(expected: str, t: Catalog) -> str:
    """pydantic's `'api', 'db' or 'redis'` as a list in the reader's language (`api`, `db` o `redis`)."""
    names = re.findall(r"'([^']*)'", expected)
    return t.words([f"`{name}`" for name in names], "or") if names else expected


def _field_name(err: Any) -> str:
    loc = err.get("loc") or ()
    return str(loc[0]) if loc else "?"


def validate_args(op: Operation, data: dict[str, Any], context: dict[str, Any], t: Catalog, prefix: str) -> OpArgs:
    """Validate into the operation's model; context lets validators see config (services, patterns)."""
    try:
        return op.args.model_validate(data, context=context)
    except ValidationError as exc:
        details = "; ".join(_explain(err, t) for err in exc.errors()[:3])
        raise UsageError(detail=details, usage=op.usage(prefix)) from None
