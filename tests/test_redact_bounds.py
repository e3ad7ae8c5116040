"""The redactor is linear on any input, and a cut never shows part of a secret.

The redactor runs in the event loop on whatever a target printed. A pattern that backtracks
on a long run of letters (the URL-password one did: 40 000 letters took 6.5 s, 80 000 took
27 s) freezes every request of the process. Linearity is asserted as a ratio: redacting 4 MB
must take less than 8× as long as 1 MB (linear: about 4×; quadratic: 16×); both sizes are
large so that both pay the same allocator costs, and the time is the CPU time of the
redacting thread, so the other work of a loaded machine does not count. The
timings run in a child process with a deadline, so a quadratic redactor fails instead of
holding the test run for hours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.output.results import Code, Result
from bot.output.slack import render_slack
from bot.text.redact import MASK, Redactor, secrets_of_url

pytestmark = pytest.mark.timeout(300)

SIZE = 1_000_000
ADVERSARIAL = {
    "letters": "a",
    "colons": ":",
    "at signs": "@",
    "scheme runs": "a://",
    "separators": "://",
    "user info without @": "://a:",
    "user:pass@ runs": "u:p@",
    "unterminated URLs": "http://u:p",
    "query keys": "?password=",
    "empty query values": "&pwd=&",
    "token prefixes": "xoxb-",
    "a secret's prefix": "s3cretpas",
    "mixed": "ab:@/xoxb-a?pass=a:// ",
}
RATIO_LIMIT = 8.0
CHILD_DEADLINE = 180.0

_TIMER = textwrap.dedent(
    """
    import json, sys, time
    from bot.text.redact import Redactor
    redact = Redactor(["s3cretpass", "xoxb-1111-2222-e2eBotTokenSecret"])
    size, units = int(sys.argv[1]), json.loads(sys.argv[2])

    def cpu(text):
        started = time.thread_time()  # CPU time: a loaded machine's waits do not count
        redact(text)
        return time.thread_time() - started

    out = {}
    for name, unit in units.items():
        small = (unit * (size // len(unit) + 1))[:size]
        big = small * 4
        runs = [(cpu(small), cpu(big)) for _ in range(3)]
        out[name] = [min(r[0] for r in runs), min(r[1] for r in runs)]
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
    print(json.dumps(out))
    """
)


def test_redacting_a_megabyte_of_adversarial_input_is_linear() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TIMER, str(SIZE), json.dumps(ADVERSARIAL)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=CHILD_DEADLINE,
        )
    except subprocess.TimeoutExpired as exc:
        finished = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        pytest.fail(f"redacting {SIZE:,} characters did not finish within {CHILD_DEADLINE:g}s; done: {finished}")
    assert done.returncode == 0, done.stderr
    timings = json.loads(done.stdout)
    report = {name: f"{small * 1000:.1f} ms → {big * 1000:.1f} ms" for name, (small, big) in timings.items()}
    print("redaction, 1 MB → 4 MB:", json.dumps(report, indent=1))
    for name, (small, big) in timings.items():
        # below a millisecond the clock's own noise decides the ratio; such a run is linear anyway
        assert big < max(small, 0.001) * RATIO_LIMIT, f"{name}: 4× the input took {big / small:.1f}× the time"


def test_a_long_line_is_cut_before_it_is_redacted_with_a_note() -> None:
    redact = Redactor(["s3cretpass"])
    out = redact.bounded("a" * 10_000_000 + " postgres://u:s3cretpass@db", 2000)
    assert out == "a" * 2000 + " … cut 9,998,027 characters"


def test_the_note_is_in_the_configured_language() -> None:
    assert Redactor(locale="es").bounded("b" * 50, 10) == "b" * 10 + " … 40 caracteres cortados"


def test_query_string_passwords_are_redacted() -> None:
    redact = Redactor()
    for text, shown in (
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=" + MASK),
        (
            "postgresql://u@h/db?sslmode=require&PASSWORD=s3cret&x=1",
            "postgresql://u@h/db?sslmode=require&PASSWORD=••••&x=1",
        ),
        ("jdbc:postgresql://h/db;pwd=s3cret", "jdbc:postgresql://h/db;pwd=" + MASK),
        ("postgresql://u@h/db?sslpassword=k3y&pass=p4ss", f"postgresql://u@h/db?sslpassword={MASK}&pass={MASK}"),
        ("redis://:hunter2@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
    ):
        assert redact(text) == shown


def test_secrets_of_url_finds_query_passwords_raw_and_percent_decoded() -> None:
    assert set(secrets_of_url("postgresql://u@h/db?password=s%33cret%2Bx")) == {"s%33cret%2Bx", "s3cret+x"}
    assert set(secrets_of_url("postgresql://u@h/db?sslpassword=k3y-pass&application_name=x")) == {"k3y-pass"}
    assert set(secrets_of_url("postgresql://u:p%40ss@h/db?pwd=other1")) == {"p%40ss", "p@ss", "other1"}
    assert secrets_of_url("postgresql://u@h/db?sslmode=require") == []
    # a configured query password is then a known secret: found even outside any URL
    redact = Redactor(secrets_of_url("postgresql://u@h/db?password=s%33cret%2Bx"))
    assert redact("auth failed for s3cret+x and s%33cret%2Bx") == f"auth failed for {MASK} and {MASK}"


SECRET = "Zq9Xw7Vt"
_JUNK = st.text(alphabet="ab:/@?&= \n", max_size=300)


@settings(max_examples=200, deadline=None)
@given(before=_JUNK, after=_JUNK, limit=st.integers(min_value=1, max_value=700), url=st.booleans())
def test_a_cut_never_shows_part_of_a_secret(before: str, after: str, limit: int, url: bool) -> None:
    """Wherever the cut falls (inside a known secret, inside an unknown URL password), what is
    shown holds no three characters of it in a row."""
    redact = Redactor([SECRET])
    secret_part = f"postgres://bob:{SECRET}@db" if url else SECRET
    unknown = "redis://alice:Kp4Rm8Yd@cache"
    out = redact.bounded(before + secret_part + before + unknown + after, limit)
    for leaked in (SECRET, "Kp4Rm8Yd"):
        pieces = {leaked[i : i + 3] for i in range(len(leaked) - 2)}
        assert not [p for p in pieces if p in out], (out, leaked)


def test_a_long_last_line_still_shows_inline_when_the_whole_goes_as_a_file() -> None:
    """The inline tail of long output used to be empty when its newest line alone was too long."""
    message = render_slack(Result(title="Logs", blocks=[Code("first line\n" + "z" * 10_000)]))
    shown = json.dumps(message.blocks)
    assert "z" * 2000 in shown and len(message.files) == 1
