#!/usr/bin/env bash
# Quickstart: install what is missing, start a small demo stack, open `ops-bot shell` on it.
# Extra arguments go to `ops-bot shell`, e.g. `bash scripts/demo.sh -c "/ops status"`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/tmp/ops-bot-setup.log 2>&1 || { cat /tmp/ops-bot-setup.log; exit 1; }
exec python scripts/demo.py "$@"
