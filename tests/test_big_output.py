"""A container that printed one 100 KB line does not freeze a real `ops-bot serve`.

Before, `/ops logs api --tail 5` redacted that line with a pattern that backtracked
quadratically (seconds to minutes of CPU holding the GIL), so both event loops stopped and
no other request was acked. Now each line is cut before it is redacted (to `FILE_LINE_LIMIT`
for the attached file, to `LINE_LIMIT` in the message), with a "… cut N characters" note,
and redaction is linear: the other commands sent while
the logs are being read are acked within Slack's 3 s and answered.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from botproc import BotLauncher
from conftest import BUSYBOX, base_config
from e2e import ACK_BUDGET, Endpoint, Sent, answer, new_user, slash
from slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(120)

LINE = 100_000
LINE_LIMIT = 1_000  # handlers.containers.LINE_LIMIT (not imported: the test must run on older code too)
FILE_LINE_LIMIT = 20_000  # handlers.containers.FILE_LINE_LIMIT
OTHERS = 6


@pytest.fixture
def long_line_project(run_id: str) -> Iterator[str]:
    """A compose project whose `api` container printed one line of 100 000 letters."""
    project = f"bigline{run_id}"
    name = f"{project}-api-1"
    script = f"head -c {LINE} /dev/zero | tr '\\0' a; echo; echo after the long line; sleep 3600"
    subprocess.run(
        ["docker", "run", "-d", "--network", "none", "--name", name,
         "--label", f"com.docker.compose.project={project}",
         "--label", "com.docker.compose.service=api",
         BUSYBOX, "sh", "-c", script],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        for _ in range(100):  # until the container has written both lines
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30).stdout
            if "after the long line" in logs:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        yield project
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


async def _slash_or_none(bot: Endpoint, emu: SlackEmulator, text: str, user: str) -> Sent | None:
    try:
        return await slash(bot, emu, text, user)
    except (TimeoutError, aiohttp.ClientError):
        return None  # no answer within the client's 10 s: certainly not acked in time


async def test_a_100kb_log_line_is_cut_and_other_commands_are_acked_meanwhile(
    tmp_path: Path, emu: SlackEmulator, long_line_project: str, bot_db_url: str, redis_prefix: str
) -> None:
    config = tmp_path / "ops.yml"
    config.write_text(base_config(project=long_line_project), encoding="utf-8")
    viewer = new_user()
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.serve(config, emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix})
        logs = await slash(bot, emu, "logs api --tail 5", viewer)
        assert logs.status == 200

        async def other(n: int) -> Sent | None:
            await asyncio.sleep(0.15 * n)  # spread over the time the logs are being read and redacted
            return await _slash_or_none(bot, emu, "contacts", viewer)

        others = await asyncio.gather(*(other(n) for n in range(OTHERS)))
        acks = [round(s.seconds, 3) if s else None for s in others]
        print("figure: ack seconds of the commands sent meanwhile:", acks)
        assert all(s is not None and s.status == 200 and s.seconds < ACK_BUDGET for s in others), acks

        shown = await answer(emu, logs, until=lambda text: "after the long line" in text, timeout=30)
        # the engine keeps a long line as 16 KB pieces and `--tail` counts pieces, so the
        # line the bot gets is the last few pieces of it: tens of kilobytes, not all 100
        note = re.search(r"a … cut ([\d,]+) characters", shown.text)
        assert note and int(note[1].replace(",", "")) > FILE_LINE_LIMIT, shown.text[-500:]
        assert "a" * (LINE_LIMIT + 1) not in shown.text
        for sent in others:
            assert sent is not None
            assert "Ana Rojas" in (await answer(emu, sent, until=lambda text: "Ana Rojas" in text)).text
        assert "Traceback" not in bot.stderr()
        (file,) = [f for f in emu.files if f.name == "api-logs.txt"]
        assert "after the long line" in file.text and "a" * (FILE_LINE_LIMIT + 1) not in file.text
        # each line starts with its time in ops.yml's zone (the message says the zone once)
        assert re.search(r"a … cut [\d,]+ characters\n\d\d-\d\d \d\d:\d\d:\d\d  after the long line", file.text), (
            file.text[-300:]
        )
