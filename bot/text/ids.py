"""Random ids that travel inside command text (`/ops confirm <id>`, `/ops logs stop <id>`).

`secrets.token_urlsafe` draws from an alphabet with `-` and `_`, so one id in 4096 began
with `--`, and the parser read `/ops confirm --Xy…` as a flag: that Confirm button answered
with a usage error (seen once in a 30-minute soak). These ids use letters and digits only.
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def new_id(length: int = 16) -> str:
    """`length` characters from 62: 16 carry about 95 bits, as many as token_urlsafe(12)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
