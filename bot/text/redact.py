"""Keep secrets out of everything the bot writes: Slack messages, files, logs, audit rows.

The redactor is built from the configured secrets (tokens, DSN and URL passwords) and is
applied where text leaves the bot, so a handler cannot leak one by echoing an error.

It runs on whatever a target prints (a container's 100 KB log line, a database cell), in
the event loop, so it must be linear in the input: a pattern that backtracks freezes the
whole process. Every pattern here starts with a literal or a one-character class and uses
only possessive quantifiers bounded by a delimiter that also begins the next match
(`/` for `://`), so each character is looked at a bounded number of times
(`tests/test_redact_bounds.py` measures it). `bounded` cuts a text *before* redacting it,
so a huge input costs no more than its limit, and masks what the cut may have split.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.text.messages import Catalog

MASK = "••••"
QUERY_PASSWORD_KEYS = ("password", "passwd", "pass", "pwd", "sslpassword")
"""libpq's `?password=` and the usual spellings; `sslpassword` is the client key's passphrase."""

# `scheme://user:password@`: the scheme is not needed to find it, so the pattern starts at the
# literal `://`; user and password stop at `/` (which every later `://` contains), possessively.
_URL_PASSWORD = re.compile(r"://(?P<user>[^:@/\s]*+):(?P<pw>[^@/\s]++)@")
# `?password=…` / `&pwd=…` (libpq, JDBC, most clients): starts at one of `?&;`, value possessive.
_QUERY_PASSWORD = re.compile(
    r"(?P<key>[?&;](?:ssl)?(?:password|passwd|pass|pwd)=)(?P<pw>[^&;#\s]++)",
    re.IGNORECASE,
)
_SLACK_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]++|\bxapp-[A-Za-z0-9-]++")
_AUTHORITY_END = re.compile(r"[@/\s]")
MIN_SECRET = 4
MIN_PARTIAL = 3
"""A cut that ends in this many leading characters of a known secret masks them."""


def secrets_of_url(url: str | None) -> list[str]:
    """The passwords a DSN/URL carries, raw and percent-decoded: in its user info and in its query
    (`postgresql://u@h/db?password=s3cret`, which libpq reads as the password)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        found = {parts.password} if parts.password else set()
    except ValueError:
        return []
    query_keys = set(QUERY_PASSWORD_KEYS)
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() in query_keys:
            found.add(value)
    # parse_qsl decodes `%xx` and `+`; libpq decodes only `%xx`: keep every spelling.
    for raw in _QUERY_PASSWORD.finditer("?" + parts.query.replace("?", "&")):
        found.add(raw["pw"])
    every = {spelling for secret in found for spelling in (secret, unquote(secret))}
    return sorted((s for s in every if s), key=len, reverse=True)


class Redactor:
    """Replaces known secrets, any URL password (user info or query) and anything shaped like a Slack token."""

    def __init__(self, secrets: Iterable[str] = (), locale: str = "en") -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)
        self._t = Catalog(locale)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if s and len(s) >= MIN_SECRET)}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(lambda m: f"://{m['user']}:{MASK}@", text)
        text = _QUERY_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", text)
        return _SLACK_TOKEN.sub(MASK, text)

    def bounded(self, text: str, limit: int) -> str:
        """`text` redacted, cut first to `limit` characters with a "… cut N characters" note.

        Cutting before redacting keeps a 100 MB line as cheap as a `limit`-long one. A cut can
        split a secret, and half a secret is not recognised, so the end of the kept part is
        masked when it could be the start of a known secret or of an unfinished URL password.
        """
        if len(text) <= limit:
            return self(text)
        head = self._mask_split_secret(text[:limit])
        return self(head) + self.cut_note(len(text) - limit)

    def cut_note(self, count: int) -> str:
        """The marker put where text was cut, in the configured language."""
        return self._t("output.cut", count=count)

    def _mask_split_secret(self, head: str) -> str:
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(head)), MIN_PARTIAL - 1, -1):
                if head.endswith(secret[:size]):
                    return head[:-size] + MASK
        start = head.rfind("://")
        if start >= 0 and _AUTHORITY_END.search(head, start + 3) is None:
            colon = head.find(":", start + 3)
            if colon >= 0:  # `scheme://user:pass` with the cut before its `@`
                return head[: colon + 1] + MASK
        return head


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the final message of every record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{formatted}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self._redact(message)
        record.args = None
        return True
