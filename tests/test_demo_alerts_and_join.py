"""The demo as a newcomer tries it beyond the first terminal: alerts, a second terminal in
another language, and the first terminal leaving while the second is open.

- A private Prometheus and Alertmanager run with the demo; one rule fires about a minute in and
  Alertmanager posts it to the demo's own `ops-bot serve`, so the living alert message and its
  diagnosis appear as `[slack]` lines, and `/ops alerts`, `/ops silence`, `/ops silences`,
  `/ops metrics --chart` work on real data. The default timing is tested, not a shortened one.
- `OPS_LOCALE=es bash scripts/demo.sh --as U0TECHLEAD` joining an English demo answers in Spanish.
- When the first terminal leaves, a joined one says once that the demo ended and exits cleanly,
  before the demo's databases are dropped under it; nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from test_demo import DemoTerminal, _leftovers, _no_error, pytestmark  # noqa: F401  (the same skip)

PAGE = re.compile(r"\[slack\] #C0INCIDENTS: PaymentsFailing: \d+ firing")
DIAGNOSIS = re.compile(r"\[slack\] #C0INCIDENTS \(thread\): .*webhooks in api logs")
ENDED_ES = "La demo terminó: su primera terminal salió y borró todo lo que creó. Esta terminal también sale."


def demo_env(state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPS_"))}
    env.update({"OPS_DEMO_STATE": str(state), "OPS_LOCALE": "en", **extra})
    return env


def wait_for(term: DemoTerminal, pattern: re.Pattern[str], limit: float) -> float:
    """Seconds from the demo's start until `pattern` shows in its terminal."""
    deadline = term.started + limit
    while time.monotonic() < deadline:
        if pattern.search(term.text):
            return time.monotonic() - term.started
        assert term.proc.poll() is None, term.text[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{pattern.pattern!r} not shown within {limit:.0f} s of the start:\n{term.text[-3000:]}")


def test_the_demo_shows_a_firing_alert_with_its_diagnosis_within_two_minutes(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    first = DemoTerminal([], demo_env(state))
    try:
        first.wait_prompt(0, timeout=120)
        demo = json.loads(state.read_text())
        config = Path(demo["env"]["OPS_CONFIG"]).read_text()
        assert "prometheus: {url: http://127.0.0.1:" in config and "alertmanager: {url: http://127.0.0.1:" in config
        fired = wait_for(first, PAGE, 120)
        wait_for(first, DIAGNOSIS, 150)
        shown = first.type("/ops alerts")
        assert re.search(r"^1\s+PaymentsFailing\s+warning\s+1", shown, re.M), shown
        silenced = first.type("/ops silence PaymentsFailing 1h trying the demo")
        assert "alertname=PaymentsFailing" in silenced, silenced
        button = first.type("/ops alerts silence 1 4h")  # what the message's "Silence 4h" button runs
        assert re.search(r"Silenced alertname=PaymentsFailing, .*service=payments, severity=warning for 4h", button), (
            button
        )
        listed = first.type("/ops silences")
        while re.search(r"Choose a number \(Enter to skip\): $", listed):
            listed += first.type("")
        assert "alertname=PaymentsFailing" in listed and "trying the demo" in listed, listed
        chart = first.type("/ops metrics --chart")
        saved = re.search(r"saved to (\S+\.png)", chart)
        assert saved is not None and Path(saved.group(1)).stat().st_size > 1000, chart
        for command, answer in (("alerts", shown), ("silences", listed), ("metrics --chart", chart)):
            _no_error(command, answer)
    finally:
        code = first.close()
    assert code == 0
    assert _leftovers(demo["project"], demo["project"].removeprefix("opsbotdemo"), demo["work"]) == []
    print(f"the demo's alert message came {fired:.0f} s after the demo started")


def test_a_joined_terminal_answers_in_its_own_language(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    first = DemoTerminal([], demo_env(state, OPS_DEMO_ALERT_FOR="1h"))
    second: DemoTerminal | None = None
    try:
        first.wait_prompt(0, timeout=120)
        second = DemoTerminal(["--as", "U0TECHLEAD"], demo_env(state, OPS_LOCALE="es"))
        joined = second.wait_prompt(0, timeout=90)
        assert "Unido a la demo en curso" in joined and "Eres U0TECHLEAD (admin)" in joined, joined
        status = second.type("/ops status")
        assert re.search(r"Los \d+ chequeos pasan", status), status
        assert "checks pass" not in status
        assert "checks pass" in first.type("/ops status")  # the first terminal keeps its own language
    finally:
        if second is not None:
            second.close()
        first.close()


def test_a_joined_terminal_says_once_that_the_demo_ended_and_leaves_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    first = DemoTerminal([], demo_env(state, OPS_LOCALE="es", OPS_DEMO_ALERT_FOR="1h"))
    second: DemoTerminal | None = None
    try:
        first.wait_prompt(0, timeout=120)
        demo = json.loads(state.read_text())
        second = DemoTerminal(["--as", "U0TECHLEAD"], demo_env(state, OPS_LOCALE="es"))
        joined = second.wait_prompt(0, timeout=90)
        assert "Unido a la demo en curso" in joined, joined
        assert first.close() == 0  # the first terminal leaves
        assert second.proc.wait(60) == 0, second.text[-3000:]
    finally:
        if second is not None:
            second.close()
        first.close()
    after_join = second.text[len(joined) :]
    assert after_join.count(ENDED_ES) == 1, after_join
    assert "does not exist" not in after_join and "Traceback" not in after_join, after_join
    assert _leftovers(demo["project"], demo["project"].removeprefix("opsbotdemo"), demo["work"]) == []
    assert not state.exists()


def test_a_joined_terminal_notices_a_first_terminal_killed_and_sweeps_what_it_left(tmp_path: Path) -> None:
    state = tmp_path / "demo-state.json"
    first = DemoTerminal([], demo_env(state, OPS_DEMO_ALERT_FOR="1h"))
    second: DemoTerminal | None = None
    try:
        first.wait_prompt(0, timeout=120)
        demo = json.loads(state.read_text())
        second = DemoTerminal(["--as", "U0TECHLEAD"], demo_env(state))
        joined = second.wait_prompt(0, timeout=90)
        os.kill(first.proc.pid, signal.SIGKILL)  # demo.py itself: no cleanup of its own
        first.close()
        assert second.proc.wait(60) == 0, second.text[-3000:]
    finally:
        if second is not None:
            second.close()
        first.close()
    after_join = second.text[len(joined) :]
    assert after_join.count("The demo ended") == 1, after_join
    assert _leftovers(demo["project"], demo["project"].removeprefix("opsbotdemo"), demo["work"]) == []
    assert not state.exists()
