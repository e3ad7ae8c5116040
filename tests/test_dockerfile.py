"""Cheap static checks of the Dockerfile and .dockerignore (the built image runs in tests/deploy/).

They catch the mistakes that would otherwise only show at `docker build` / `docker run` time:
a COPY of a path that is not in the repo (or that .dockerignore drops), a package pyproject
installs but the image does not copy, a CMD naming a console script or a flag that does not
exist, a healthcheck on the wrong path or port, a container running as root.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
HEALTH_PATH = "/healthz"  # served by bot/slack/server.py


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comment lines dropped."""
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are removed by Docker
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        keyword, _, args = " ".join(part for part in buffer if part).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = []
    assert not buffer, "Dockerfile ends inside a line continuation"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            result.append([])
        elif not result:
            if ins.keyword != "ARG":
                pytest.fail(f"line {ins.line}: {ins.keyword} before the first FROM")
            continue
        result[-1].append(ins)
    assert result, "no FROM in Dockerfile"
    return result


def split_flags(args: str) -> tuple[dict[str, str], str]:
    """`--from=build --chown=x a b` -> ({'from': 'build', 'chown': 'x'}, 'a b')."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags[name] = value
        rest = rest.lstrip()
    return flags, rest


def exec_form(args: str, what: str) -> list[str]:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"{what} must use the exec (JSON array) form, got: {args}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{what}: {args}"
    return value


def copy_sources(instructions: list[Instruction]) -> list[tuple[Instruction, str]]:
    """Sources of every COPY/ADD that reads from the build context (not --from=another stage)."""
    sources = []
    for ins in instructions:
        if ins.keyword not in {"COPY", "ADD"}:
            continue
        flags, rest = split_flags(ins.args)
        if "from" in flags:
            continue
        parts = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        assert len(parts) >= 2, f"line {ins.line}: {ins.keyword} needs a source and a destination"
        sources.extend((ins, src) for src in parts[:-1])
    return sources


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (negated, regex) pairs, following Docker's rules (filepath.Match plus **)."""
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        pattern = re.sub(r"^\./", "", pattern)
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex += pattern[i : end + 1]
                i = end + 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        patterns.append((negated, re.compile(regex + r"\Z")))
    return patterns


def dockerignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves `path` out: it or a parent directory matches, last pattern wins."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in patterns:
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    return stages(instructions)[-1]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [ins for ins in stage if ins.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {len(found)}"
    return found[0]


def cmd_of(stage: list[Instruction]) -> list[str]:
    return exec_form(only(stage, "CMD").args, "CMD")


def exposed_ports(stage: list[Instruction]) -> set[int]:
    ports = set()
    for ins in stage:
        if ins.keyword == "EXPOSE":
            ports.update(int(p.split("/")[0]) for p in ins.args.split())
    return ports


def test_parser_sees_continuations_and_stages() -> None:
    parsed = parse_dockerfile('# c\nFROM a AS b\nRUN x \\\n  # note\n  && y\nFROM c\nCMD ["z"]\n')
    assert [(i.keyword, i.args) for i in parsed] == [
        ("FROM", "a AS b"),
        ("RUN", "x && y"),
        ("FROM", "c"),
        ("CMD", '["z"]'),
    ]
    assert len(stages(parsed)) == 2


def build_args(instructions: list[Instruction]) -> dict[str, str]:
    """The global ARGs (before the first FROM) with their defaults."""
    args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            name, _, default = ins.args.partition("=")
            args[name.strip()] = default.strip()
    return args


def test_base_image_is_a_build_arg_pinned_by_release(
    instructions: list[Instruction], pyproject: dict[str, Any]
) -> None:
    """A floating tag (`python:3.11-slim`) moved from bookworm to trixie and pg_dump with it:
    the default base names its Debian release, and every stage uses the same ARG."""
    base = build_args(instructions).get("BASE_IMAGE")
    assert base, "no global ARG BASE_IMAGE with a default"
    assert re.fullmatch(r"[\w./-]+:(bookworm|trixie)(-pg\d+)?", base), f"BASE_IMAGE={base} is not pinned by release"
    stage_names = set()
    for ins in instructions:
        if ins.keyword != "FROM":
            continue
        _, rest = split_flags(ins.args)
        image, *alias = rest.split()
        if image not in stage_names:
            assert image == "${BASE_IMAGE}", f"line {ins.line}: FROM {image}, not the BASE_IMAGE build arg"
        if len(alias) == 2 and alias[0].upper() == "AS":
            stage_names.add(alias[1])
    assert "3.11" in SpecifierSet(pyproject["project"]["requires-python"])
    script = (REPO / "scripts" / "build-base-image.sh").read_text(encoding="utf-8")
    assert "opsbot/debian-base:${RELEASE}-pg${PG_MAJOR}" in script and base.startswith("opsbot/debian-base:")


def test_dependencies_come_from_the_lock_in_a_layer_before_the_source(instructions: list[Instruction]) -> None:
    build = stages(instructions)[0]
    copies = [(i, ins) for i, ins in enumerate(build) if ins.keyword == "COPY"]
    lock_at = next(i for i, ins in copies if "requirements.lock" in ins.args)
    source_at = min(i for i, ins in copies if "bot/" in ins.args or "pyproject.toml" in ins.args)
    assert lock_at < source_at, "the lock must be copied before the source, so a code change keeps the layer"
    installs = [i for i, ins in enumerate(build) if ins.keyword == "RUN" and "-r requirements.lock" in ins.args]
    assert installs and lock_at < installs[0] < source_at


def test_build_args_for_a_package_index_and_a_ca_bundle(instructions: list[Instruction]) -> None:
    build = stages(instructions)[0]
    declared = {ins.args.partition("=")[0] for ins in build if ins.keyword == "ARG"}
    assert {"PIP_INDEX_URL", "CA_BUNDLE_PEM"} <= declared
    runs = " ".join(ins.args for ins in build if ins.keyword == "RUN")
    assert "update-ca-certificates" in runs and "$PIP_INDEX_URL" in runs


def test_pg_dump_is_checked_against_the_stacks_postgres(final_stage: list[Instruction]) -> None:
    declared = {ins.args.partition("=")[0] for ins in final_stage if ins.keyword == "ARG"}
    assert "PG_MAJOR" in declared
    runs = " ".join(ins.args for ins in final_stage if ins.keyword == "RUN")
    assert "pg_dump --version" in runs and "$PG_MAJOR" in runs


def test_tini_is_the_init_and_sigterm_the_stop_signal(final_stage: list[Instruction]) -> None:
    entry = exec_form(only(final_stage, "ENTRYPOINT").args, "ENTRYPOINT")
    assert entry[0] == "tini" and entry[-1] == "--", entry
    assert only(final_stage, "STOPSIGNAL").args == "SIGTERM"


def test_home_works_and_the_checkout_is_trusted_by_git(final_stage: list[Instruction]) -> None:
    env = env_of(final_stage)
    assert env["HOME"] != "/nonexistent" and env["MPLCONFIGDIR"].startswith(env["HOME"])
    runs = " ".join(ins.args for ins in final_stage if ins.keyword == "RUN")
    assert "--create-home" in runs and "git config --system --add safe.directory" in runs


def test_copied_paths_exist_in_the_repo(instructions: list[Instruction]) -> None:
    sources = copy_sources(instructions)
    assert sources, "nothing is COPY'd from the build context"
    missing = [f"line {ins.line}: {src}" for ins, src in sources if not (REPO / src).exists()]
    assert not missing, f"COPY of paths not in the repo (docker build would fail): {missing}"


def test_copy_does_not_send_the_whole_context(instructions: list[Instruction]) -> None:
    for ins, src in copy_sources(instructions):
        assert src.strip("/") not in {".", "", "*"}, f"line {ins.line}: copy only what the package needs"


def test_dockerignore_keeps_what_is_copied(instructions: list[Instruction]) -> None:
    patterns = ignore_patterns()
    dropped = []
    for ins, src in copy_sources(instructions):
        path = REPO / src
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            rel = file.relative_to(REPO).as_posix()
            if "__pycache__" in rel or rel.endswith((".pyc", ".pyo")):
                continue
            if dockerignored(rel, patterns):
                dropped.append(f"{rel} (COPY at line {ins.line})")
    assert not dropped, f".dockerignore drops files the Dockerfile copies: {dropped}"


def test_dockerignore_excludes_the_bulky_and_secret_parts() -> None:
    patterns = ignore_patterns()
    for path in [
        ".git/config",
        "tests/test_manifest.py",
        "bench/run.py",
        "tests/bull/node_modules/bull/index.js",
        "bot/__pycache__/cli.cpython-311.pyc",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/bot",
        ".ruff_cache/CACHEDIR.TAG",
        "ops_bot.egg-info/PKG-INFO",
        ".env",
    ]:
        assert dockerignored(path, patterns), f".dockerignore should leave out {path}"


def test_every_package_pyproject_installs_is_copied(instructions: list[Instruction], pyproject: dict[str, Any]) -> None:
    """`pip install .` in the image only sees what was COPY'd: each package and the readme."""
    copied = {src.strip("/").removeprefix("./") for _, src in copy_sources(instructions)}
    assert "pyproject.toml" in copied
    readme = pyproject["project"].get("readme")
    if isinstance(readme, str):
        assert readme in copied, f"pyproject's readme {readme} is not copied"
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        d.name
        for d in REPO.iterdir()
        if d.is_dir()
        and (d / "__init__.py").is_file()
        and any(re.fullmatch(p.replace("*", ".*"), d.name) for p in include)
    }
    assert packages, f"no package directories match {include}"
    assert packages <= copied, f"packages installed but not copied: {sorted(packages - copied)}"


def test_package_is_installed_with_pip(instructions: list[Instruction]) -> None:
    """Its dependencies came from the lock: the package itself adds none (--no-deps)."""
    runs = [ins.args for ins in instructions if ins.keyword == "RUN"]
    assert any(re.search(r"\bpip install --no-cache-dir --no-deps\b[^&]*\s\.(\s|$)", run) for run in runs), runs


def test_runs_as_non_root_user_before_cmd(final_stage: list[Instruction]) -> None:
    keywords = [ins.keyword for ins in final_stage]
    cmd_at = keywords.index("CMD")
    users = [ins for ins in final_stage[:cmd_at] if ins.keyword == "USER"]
    assert users, "no USER before CMD in the final stage: the container would run as root"
    user = users[-1].args.split(":")[0].strip()
    assert user not in {"root", "0"}, f"line {users[-1].line}: USER {users[-1].args} is root"
    if user.isdigit():
        assert int(user) == 10001, f"USER uid {user}, expected 10001"
    else:
        runs = " ".join(ins.args for ins in final_stage if ins.keyword == "RUN")
        assert re.search(rf"useradd\b[^&;]*(--uid|-u)\s+10001\b[^&;]*\b{re.escape(user)}\b", runs), (
            f"USER {user}: no useradd creating it with uid 10001"
        )
    assert "USER" not in keywords[cmd_at:], "USER after CMD"


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ENV":
            for token in shlex.split(ins.args):
                key, sep, value = token.partition("=")
                assert sep, f"line {ins.line}: use ENV KEY=value"
                env[key] = value
    return env


def test_ops_config_env(final_stage: list[Instruction]) -> None:
    assert env_of(final_stage).get("OPS_CONFIG") == "/etc/ops-bot/ops.yml"


def test_healthcheck_runs_the_port_following_script(final_stage: list[Instruction]) -> None:
    check = only(final_stage, "HEALTHCHECK")
    flags, rest = split_flags(check.args)
    assert "timeout" in flags, "give the healthcheck a --timeout"
    assert rest.startswith("CMD "), check.args
    command = exec_form(rest[len("CMD ") :].strip(), "HEALTHCHECK CMD")
    assert command[0] == "python3", "the base has no curl or wget; the image's python3 runs the script"
    copied = {
        split_flags(ins.args)[1].split()[-1]: split_flags(ins.args)[1].split()[0]
        for ins in final_stage
        if ins.keyword == "COPY"
    }
    assert copied.get(command[1]) == "deploy/healthcheck.py", f"{command[1]} is not the copied deploy/healthcheck.py"
    script = (REPO / "deploy" / "healthcheck.py").read_text(encoding="utf-8")
    assert f"/{HEALTH_PATH.lstrip('/')}" in script
    timeout = re.search(r"^TIMEOUT = ([\d.]+)", script, re.M)
    assert timeout and float(timeout.group(1)) < float(flags["timeout"].rstrip("s"))
    assert env_of(final_stage)["PORT"] == "3000" and exposed_ports(final_stage) == {3000}


def test_cmd_is_a_console_script_from_pyproject(final_stage: list[Instruction], pyproject: dict[str, Any]) -> None:
    cmd = cmd_of(final_stage)
    scripts = pyproject["project"]["scripts"]
    assert cmd[0] in scripts, f"CMD runs {cmd[0]!r}, but [project.scripts] defines {sorted(scripts)}"


def test_cmd_serves_on_the_exposed_port_with_valid_arguments(
    final_stage: list[Instruction], pyproject: dict[str, Any]
) -> None:
    cmd = cmd_of(final_stage)
    assert cmd[1:3] == ["serve", "--host"] and cmd[3] == "0.0.0.0", "serve on all interfaces inside the container"
    # the port is $PORT (ENV), which the health check reads too; an explicit --port must agree
    port = int(cmd[cmd.index("--port") + 1]) if "--port" in cmd else int(env_of(final_stage)["PORT"])
    assert exposed_ports(final_stage) == {port}

    # The arguments must parse with the CLI the console script points at.
    module_name, _, func = pyproject["project"]["scripts"][cmd[0]].partition(":")
    sys.path.insert(0, str(REPO))
    try:
        module = __import__(module_name, fromlist=[func])
    finally:
        sys.path.remove(str(REPO))
    assert callable(getattr(module, func, None)), f"{module_name}:{func} does not exist"
    build_parser = getattr(module, "_parser", None)
    assert callable(build_parser), f"{module_name} no longer has _parser(); update this test to reach its argparse"
    parser = build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PORT", str(port))
            args = parser.parse_args(cmd[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(cmd)}` is rejected by {module_name}'s argument parser")
    assert (args.mode, args.host, args.port) == ("serve", "0.0.0.0", port)


def healthcheck_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ops_bot_healthcheck", REPO / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "port"),
    [
        (
            ["/opt/ops-bot/bin/python3", "/opt/ops-bot/bin/ops-bot", "serve", "--host", "0.0.0.0", "--port", "4000"],
            4000,
        ),
        (["/opt/ops-bot/bin/python3", "/opt/ops-bot/bin/ops-bot", "socket", "--port=4100"], 4100),
        (["/opt/ops-bot/bin/python3", "/opt/ops-bot/bin/ops-bot", "serve"], None),
        (["tini", "-s", "--", "ops-bot", "serve", "--port", "4000"], None),
        (["python3", "/usr/local/lib/ops-bot/healthcheck.py", "--port", "9"], None),
    ],
)
def test_the_health_check_reads_the_running_bots_port(argv: list[str], port: int | None) -> None:
    """`docker run … ops-bot serve --port 4000` stays healthy: the check asks the bot's own command line."""
    assert healthcheck_module().port_in(argv) == port
