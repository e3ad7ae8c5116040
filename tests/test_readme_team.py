"""README's "Preparing the databases and Slack for a team" is followed as written: its SQL makes a
role and database on the real Postgres on which `ops-bot migrate` succeeds, its Python version is
pyproject's, and what a deploy needs to know (restore drops tables, `/invite`, TLS) is there.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import tomllib
from pathlib import Path

from botproc import bot_env, run_bot
from conftest import PG_ADMIN, PG_HOST

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
HEADING = "## Preparing the databases and Slack for a team"


def section() -> str:
    start = README.index(HEADING)
    end = README.index("\n## ", start + len(HEADING))
    return README[start:end]


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, timeout=30, capture_output=True)


def test_the_python_version_is_pyprojects() -> None:
    wanted = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    version = wanted.removeprefix(">=")
    assert f'**Python {version} or newer** (`requires-python = "{wanted}"`' in section()


def test_the_deploy_facts_are_said() -> None:
    text = section()
    for fact in (
        "drops and\n    recreates every table",
        "`/invite @ops-bot`",
        "HTTPS",
        "reverse proxy",
        "pg_read_all_stats",
    ):
        assert fact in text, fact


async def test_the_readmes_sql_makes_a_database_ops_bot_migrate_can_use(tmp_path: Path) -> None:
    sql = re.search(r"```sql\n(.*?)```", section(), re.S)
    assert sql is not None
    tag = secrets.token_hex(3)
    role, database, password = f"opsbot_readme_{tag}", f"opsbot_readme_{tag}", f"pw{tag}"
    statements = sql.group(1).replace("change-me", password).replace("opsbot", role)
    assert f"CREATE ROLE {role} LOGIN PASSWORD '{password}';" in statements
    try:
        for statement in filter(None, (s.strip() for s in statements.split(";"))):
            psql(statement)
        url = f"postgresql://{role}:{password}@{PG_HOST}:5432/{database}"
        config = tmp_path / "ops.yml"
        config.write_text("slack: {command: /ops}\n", encoding="utf-8")
        done = await run_bot(["migrate"], bot_env(config, "http://127.0.0.1:9", url), cwd=tmp_path, timeout=60)
        assert done.returncode == 0 and "migrations applied" in done.stdout, done.stdout + done.stderr
    finally:
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        psql(f'DROP ROLE IF EXISTS "{role}"')
