#!/usr/bin/env bash
# Quickstart: prepare the machine and .venv (scripts/setup.sh), start a private demo stack and
# open `ops-bot shell` on it (scripts/demo.py). Everything the demo makes is removed on exit.
#   bash scripts/demo.sh                      # the shell, as U0DEVOPS (OPS_DEMO_USER, OPS_LOCALE=es)
#   bash scripts/demo.sh -c "/ops status"     # one command, then clean up
#   bash scripts/demo.sh --as U0TECHLEAD      # in a second terminal: joins the running demo
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
state="${OPS_DEMO_STATE:-${TMPDIR:-/tmp}/ops-bot-demo.json}"
running_pid() { .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$state" 2>/dev/null; }
if [[ -x .venv/bin/python && -f "$state" ]] && pid="$(running_pid)" && kill -0 "$pid" 2>/dev/null; then
    :  # a demo is running: join it, it has prepared everything
else
    bash scripts/setup.sh
fi
exec .venv/bin/python scripts/demo.py "$@"
