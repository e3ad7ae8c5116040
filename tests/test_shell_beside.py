"""In a terminal a live tail runs beside the prompt, as in Slack's thread (issue 24, item 2):
while `/ops logs api --follow` prints, `/ops ps` and the tail's own `/ops logs stop <id>` are
typed, run and answered at once. The real `ops-bot shell` on a pty (tests/test_shell_pty.py)."""

from __future__ import annotations

import re

from test_shell_pty import ADMIN, PROMPT, OpenShell, open_shell

__all__ = ["open_shell"]  # fixture


def test_commands_typed_during_a_live_tail_run_and_its_stop_ends_it(
    open_shell: OpenShell, compose_project: str
) -> None:
    sh = open_shell(ADMIN, project=compose_project)
    sh.line("/ops logs api --follow 2m")
    stop = sh.expect(r"/ops logs stop (\w+)")[0].split()[-1]
    sh.expect(r"GET /orders/")  # the tail prints
    sh.expect(re.escape(PROMPT))  # and the prompt is back beside it

    sh.line("/ops ps")
    sh.expect(rf"== Containers of {compose_project} ==", timeout=30)
    sh.expect(r"GET /orders/")  # the tail goes on after the other command answered
    assert "Live tail of api ended" not in sh.text()

    sh.line(f"/ops logs stop {stop}")
    sh.expect(re.escape("Stopping the live tail…"))
    sh.expect(rf"Live tail of api ended: .*stopped by {ADMIN}", timeout=20)
    sh.expect(re.escape(PROMPT))
    sh.send("\x04")
    assert sh.wait() == 0
