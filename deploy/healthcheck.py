"""The image's HEALTHCHECK: GET /healthz on the port the running bot listens on.

The port is read from the running `ops-bot serve|socket` process's own arguments (`--port N`),
so `docker run … ops-bot serve --port 4000` stays healthy; without one it is $PORT, then 3000
(the CLI's default). Standard library only: it runs with the image's python3, outside the bot's
virtualenv. Exit 0 when /healthz answers 2xx within 3 s, 1 otherwise (Docker's convention).
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

DEFAULT_PORT = 3000
TIMEOUT = 3.0  # below the HEALTHCHECK's --timeout, so a hung bot fails the check instead of Docker killing it


def port_in(argv: list[str]) -> int | None:
    """`--port N` or `--port=N` of an `ops-bot serve|socket` command line, else None."""
    if not any(Path(a).name == "ops-bot" for a in argv[:3]) or not {"serve", "socket"} & set(argv):
        return None
    for i, arg in enumerate(argv):
        if arg == "--port" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
        if arg.startswith("--port=") and arg[7:].isdigit():
            return int(arg[7:])
    return None


def running_port() -> int | None:
    """The port of the bot running in this container (its process is visible in /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # the process ended meanwhile
        if (port := port_in(argv)) is not None:
            return port
    return None


def main() -> int:
    port = running_port() or int(os.environ.get("PORT") or DEFAULT_PORT)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT):
            return 0
    except Exception as exc:  # refused, timed out, non-2xx: unhealthy, and say why in `docker inspect`
        print(f"http://127.0.0.1:{port}/healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
