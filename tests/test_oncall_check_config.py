"""check-config warns about the rota gaps it can see in the next 7 days, and stays quiet (and
successful) when every hour is covered."""

from __future__ import annotations

from pathlib import Path

from botproc import bot_env, run_bot
from oncall_parts import rota_config


def _rota(hours: str | None) -> str:
    text = rota_config(hours=hours)
    return text.replace("start: 2026-12-07", "start: 2024-01-01")  # begun long ago: no gap before its start


async def test_check_config_warns_about_the_hours_a_rota_leaves_uncovered(tmp_path: Path, bot_db_url: str) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(_rota("09:00-18:00"), encoding="utf-8")
    done = await run_bot(["check-config", str(path)], bot_env(path, "http://127.0.0.1:9", bot_db_url), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warning = next(line for line in done.stderr.splitlines() if line.startswith("warning: oncall.devops"))
    assert "18:00 – " in warning and "09:00 America/Santiago" in warning and "(+" in warning


async def test_check_config_is_quiet_about_a_rota_without_gaps(tmp_path: Path, bot_db_url: str) -> None:
    path = tmp_path / "ops.yml"
    path.write_text(_rota(None), encoding="utf-8")
    done = await run_bot(["check-config", str(path)], bot_env(path, "http://127.0.0.1:9", bot_db_url), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr and ": ok (" in done.stdout
