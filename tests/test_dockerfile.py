"""Cheap static checks of the Dockerfile and .dockerignore (no image can be built here).

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


def test_base_image_is_python_311_slim_and_satisfies_requires_python(
    instructions: list[Instruction], pyproject: dict[str, Any]
) -> None:
    stage_names = set()
    for ins in instructions:
        if ins.keyword != "FROM":
            continue
        _, rest = split_flags(ins.args)
        image, *alias = rest.split()
        if image in stage_names:
            continue  # FROM an earlier stage
        assert image == "python:3.11-slim", f"line {ins.line}: base image {image}"
        if len(alias) == 2 and alias[0].upper() == "AS":
            stage_names.add(alias[1])
    assert "3.11" in SpecifierSet(pyproject["project"]["requires-python"])


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
    runs = [ins.args for ins in instructions if ins.keyword == "RUN"]
    assert any(re.search(r"\bpip install --no-cache-dir \.(\s|$)", run) for run in runs), runs


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


def test_ops_config_env(final_stage: list[Instruction]) -> None:
    env: dict[str, str] = {}
    for ins in final_stage:
        if ins.keyword == "ENV":
            for token in shlex.split(ins.args):
                key, sep, value = token.partition("=")
                assert sep, f"line {ins.line}: use ENV KEY=value"
                env[key] = value
    assert env.get("OPS_CONFIG") == "/etc/ops-bot/ops.yml"


def test_healthcheck_hits_healthz_with_python(final_stage: list[Instruction]) -> None:
    check = only(final_stage, "HEALTHCHECK")
    flags, rest = split_flags(check.args)
    assert rest.upper() != "NONE"
    assert "timeout" in flags, "give the healthcheck a --timeout"
    assert rest.startswith("CMD "), check.args
    command = exec_form(rest[len("CMD ") :].strip(), "HEALTHCHECK CMD")
    assert command[0] in {"python", "python3"} and command[1] == "-c", "python:3.11-slim has no curl or wget"
    code = command[2]
    compile(code, "<healthcheck>", "exec")  # a quoting mistake would make every check fail
    url = re.search(r"""['"](http://[^'"]+)['"]""", code)
    assert url, f"no URL in the healthcheck: {code}"
    match = re.fullmatch(r"http://(127\.0\.0\.1|localhost):(\d+)(/\S*)", url.group(1))
    assert match, url.group(1)
    assert match.group(3) == HEALTH_PATH
    assert int(match.group(2)) in exposed_ports(final_stage), "healthcheck port is not the EXPOSEd one"
    assert "urllib.request" in code and "urlopen" in code
    timeout = re.search(r"timeout\s*=\s*([\d.]+)", code)
    assert timeout, "urlopen without a timeout can hang until Docker kills the check"
    budget = flags["timeout"]
    assert budget.endswith("s") and float(timeout.group(1)) < float(budget[:-1]), (
        f"urlopen timeout {timeout.group(1)}s should be shorter than --timeout={budget}"
    )


def test_cmd_is_a_console_script_from_pyproject(final_stage: list[Instruction], pyproject: dict[str, Any]) -> None:
    assert not any(ins.keyword == "ENTRYPOINT" for ins in final_stage), "an ENTRYPOINT would turn CMD into its args"
    cmd = cmd_of(final_stage)
    scripts = pyproject["project"]["scripts"]
    assert cmd[0] in scripts, f"CMD runs {cmd[0]!r}, but [project.scripts] defines {sorted(scripts)}"


def test_cmd_serves_on_the_exposed_port_with_valid_arguments(
    final_stage: list[Instruction], pyproject: dict[str, Any]
) -> None:
    cmd = cmd_of(final_stage)
    assert cmd[1:3] == ["serve", "--host"] and cmd[3] == "0.0.0.0", "serve on all interfaces inside the container"
    assert "--port" in cmd
    port = int(cmd[cmd.index("--port") + 1])
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
        args = parser.parse_args(cmd[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(cmd)}` is rejected by {module_name}'s argument parser")
    assert (args.mode, args.host, args.port) == ("serve", "0.0.0.0", port)
