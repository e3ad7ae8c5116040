"""The images the deploy tests run, built the way a team builds them: the debootstrap base
(scripts/build-base-image.sh, cached under /var/cache/ops-bot), the bot's image from the
Dockerfile, and stand-ins for the official postgres and redis images (deploy/ci/), which no
registry serves here.

Builds use the legacy builder with `--network host`: the machine's engine gives containers no
network, and a build's RUN steps need the package mirrors. The machine's extra CA certificates
(a TLS-inspecting egress proxy's) go in through the Dockerfile's CA_BUNDLE_PEM build argument,
exactly as a company proxy's would. Each build is cached by Docker's layers, so a second run
takes seconds; every step's time is written to the log (`pytest -s` shows it).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CA_DIR = Path("/usr/local/share/ca-certificates")
BOT_IMAGE = "opsbot/ops-bot:ci"
POSTGRES_IMAGE = "opsbot/ci-postgres:15"
REDIS_IMAGE = "opsbot/ci-redis:bookworm"
BUILD_TIMEOUT = 1200.0
TIMINGS = Path(os.environ.get("OPS_DEPLOY_TIMINGS", "/var/cache/ops-bot/deploy-timings.log"))


@dataclass(frozen=True)
class Images:
    base: str
    bot: str
    postgres: str
    redis: str


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env={**os.environ, **(env or {})}
    )
    seconds = time.monotonic() - started
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {what}: {seconds:.1f} s (exit {done.returncode})"
    print(f"deploy: {line}")
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    with TIMINGS.open("a", encoding="utf-8") as log:
        log.write(line + "\n")
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def extra_ca_certificates() -> str:
    """The machine's own additions to the system CA bundle (PEM), for the image's build."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(CA_DIR.glob("*.crt")))


def docker_build(tag: str, dockerfile: Path, context: Path, args: dict[str, str], what: str) -> None:
    argv = ["docker", "build", "--network", "host", "-q", "-t", tag, "-f", str(dockerfile)]
    for name, value in args.items():
        argv += ["--build-arg", f"{name}={value}"]
    _run([*argv, str(context)], what, env={"DOCKER_BUILDKIT": "0"})


def build_all() -> Images:
    """Every image, built or found in the cache."""
    base = _run(["bash", "scripts/build-base-image.sh"], "base image (scripts/build-base-image.sh)").split()[-1]
    args = {"BASE_IMAGE": base}
    ca = extra_ca_certificates()
    docker_build(BOT_IMAGE, REPO / "Dockerfile", REPO, {**args, "CA_BUNDLE_PEM": ca} if ca else args, "bot image")
    ci = REPO / "deploy" / "ci"
    docker_build(POSTGRES_IMAGE, ci / "postgres.Dockerfile", ci, args, "postgres stand-in image")
    docker_build(REDIS_IMAGE, ci / "redis.Dockerfile", ci, args, "redis stand-in image")
    return Images(base, BOT_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE)


def image_size(tag: str) -> int:
    """Bytes, as `docker image inspect` reports them."""
    done = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())
