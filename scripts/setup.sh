#!/usr/bin/env bash
# Prepare this machine for ops-bot's tests and demo. Idempotent: every step checks first and
# skips what is already there, so a second run takes a few seconds. One line per step, with
# its time.
#
#   1. Debian packages (docker.io, busybox-static, postgresql, redis-server, git, gzip, prometheus,
#      prometheus-alertmanager, nodejs/npm, python3-venv)
#   2. PostgreSQL on 127.0.0.1, started if not answering
#   3. Redis on 127.0.0.1, started if not answering
#   4. dockerd (no bridge, no iptables: containers get no network), started if not answering
#   5. docker image opsbot/busybox:latest, imported from Debian's static busybox
#   6. the project's virtual environment .venv (made with the machine's python), with
#      `pip install -e '.[dev]'` in it: the machine's own Python and its `ops-bot` are left alone
#   7. npm dependencies of tests/bull/ (pinned)
#   8. npm dependencies of tests/bull-latest/ (the newest Bull Board npm serves)
#   9. a container run, to prove the engine works
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PYTHON="${PYTHON:-python3}"   # the machine's python, used only to make .venv
VENV="$REPO_ROOT/.venv"
IMAGE="opsbot/busybox:latest"
START_US=${EPOCHREALTIME/./}
STEPS=9
STEP=0

# step NAME: start a step's line; done_step RESULT: end it with its time.
step() {
    STEP=$((STEP + 1))
    STEP_US=${EPOCHREALTIME/./}
    printf 'setup: [%d/%d] %s: ' "$STEP" "$STEPS" "$1"
}
tenths() { local d=$((($2 - $1) / 100000)); printf '%d.%d s' $((d / 10)) $((d % 10)); }
done_step() { printf '%s (%s)\n' "$*" "$(tenths "$STEP_US" "${EPOCHREALTIME/./}")"; }
die() { printf '\nsetup: ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds.
wait_for() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------- 1. apt packages
step "Debian packages"
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
pkg_installed busybox-static || missing+=(busybox-static)
if ! command -v psql >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    missing+=(postgresql postgresql-contrib)
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
# the alert tests run the real peers: Prometheus scrapes, evaluates a rule and sends to Alertmanager
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v "$PYTHON" >/dev/null 2>&1 || missing+=(python3)
if [[ ! -x "$VENV/bin/python" ]] && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    done_step "installed ${missing[*]}"
else
    done_step "present"
fi

# ---------------------------------------------------------------- 2. PostgreSQL
step "postgres on 127.0.0.1:5432"
if pg_isready -h 127.0.0.1 -q; then
    done_step "already answering"
else
    pg_version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$pg_version" ]] || die "no cluster under /etc/postgresql"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start >/dev/null 2>&1 || true
    wait_for 30 pg_isready -h 127.0.0.1 -q || die "postgres does not answer on 127.0.0.1:5432"
    done_step "started cluster $pg_version"
fi

# ---------------------------------------------------------------- 3. Redis
step "redis on 127.0.0.1:6379"
redis_up() { [[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" == PONG ]]; }
if redis_up; then
    done_step "already answering"
else
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for 30 redis_up || die "redis does not answer on 127.0.0.1:6379"
    done_step "started"
fi

# ---------------------------------------------------------------- 4. Docker engine
step "docker engine"
if docker info >/dev/null 2>&1; then
    done_step "already answering"
else
    # A dockerd killed uncleanly leaves its pid file behind and then refuses to start.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    setsid nohup dockerd --bridge=none --iptables=false </dev/null >>/tmp/dockerd.log 2>&1 &
    if ! wait_for 60 docker info; then
        tail -n 20 /tmp/dockerd.log >&2 || true
        die "docker info still fails after 60 s"
    fi
    done_step "started dockerd (--bridge=none --iptables=false, log in /tmp/dockerd.log)"
fi

# ---------------------------------------------------------------- 5. busybox image
step "image $IMAGE"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    done_step "present"
else
    busybox_bin="$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)"
    [[ -x "$busybox_bin" ]] || die "busybox-static's binary not found"
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox_bin" "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
        [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" -c . | docker import -c 'CMD ["sh"]' - "$IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    done_step "built from Debian's busybox-static"
fi

# ---------------------------------------------------------------- 6. the project's venv
# The package is installed editable into .venv, never into the machine's Python (which would
# re-point the machine-wide `ops-bot` at whichever clone ran this). A stamp of pyproject.toml
# requirements.lock and of this checkout's path skips pip when nothing changed.
step "virtual environment .venv"
venv_sum="$(cat pyproject.toml requirements.lock <(printf '%s' "$REPO_ROOT") | sha256sum | cut -d' ' -f1)"
venv_stamp="$VENV/.opsbot-install-sha256"
if [[ -x "$VENV/bin/ops-bot" && -f "$venv_stamp" && "$(cat "$venv_stamp")" == "$venv_sum" ]]; then
    done_step "up to date ($("$VENV/bin/python" --version))"
else
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv $VENV failed"
    rm -f "$venv_stamp"
    printf 'pip install -e .[dev] (output in .venv/pip.log) … '
    # requirements.lock constrains the run-time dependencies: the tests run on exactly what the
    # image installs (tests/test_requirements_lock.py); regenerate it to take newer releases.
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --prefer-binary \
        -c requirements.lock -e '.[dev]' >"$VENV/pip.log" 2>&1; then
        tail -n 30 "$VENV/pip.log" >&2
        die "pip install -e '.[dev]' into $VENV failed (full output: $VENV/pip.log)"
    fi
    echo "$venv_sum" >"$venv_stamp"
    done_step "installed ($("$VENV/bin/python" --version))"
fi

# ---------------------------------------------------------------- 7. tests/bull npm deps
# npm ci wipes node_modules every time, so only run it when the lock file changed.
step "tests/bull node_modules"
bull_dir="$REPO_ROOT/tests/bull"
lock_sum="$(sha256sum "$bull_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$bull_dir/node_modules/.opsbot-lock-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]]; then
    done_step "up to date"
else
    (cd "$bull_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_sum" >"$stamp"
    done_step "npm ci done"
fi

# ---------------------------------------------------------------- 8. tests/bull-latest npm deps
# tests/bull-latest: the same server with the newest Bull Board npm serves (package.json asks
# for `latest`, no lock file), so a release that changes the board's API is seen the day it
# ships. Resolved again when older than a day; an offline machine keeps the copy it has.
step "tests/bull-latest node_modules (newest Bull Board)"
latest_dir="$REPO_ROOT/tests/bull-latest"
latest_stamp="$latest_dir/node_modules/.opsbot-resolved"
if [[ -f "$latest_stamp" && -n "$(find "$latest_stamp" -mmin -1440 2>/dev/null)" ]]; then
    done_step "resolved less than a day ago ($(cat "$latest_stamp"))"
elif (cd "$latest_dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null); then
    version="$(node -p "require('$latest_dir/node_modules/@bull-board/api/package.json').version")"
    echo "@bull-board/api $version" >"$latest_stamp"
    done_step "npm install done: @bull-board/api $version"
elif [[ -d "$latest_dir/node_modules/@bull-board/api" ]]; then
    done_step "npm install failed; keeping the copy installed before"
else
    die "npm install in $latest_dir failed and nothing is installed there"
fi

# ---------------------------------------------------------------- 9. final check
step "docker run --network none $IMAGE"
out="$(docker run --rm --network none "$IMAGE" sh -c 'echo ok')"
[[ "$out" == ok ]] || die "docker run $IMAGE printed '$out', expected 'ok'"
done_step "ok"
printf 'setup: ready in %s; the project runs from %s (e.g. %s/bin/ops-bot)\n' \
    "$(tenths "$START_US" "${EPOCHREALTIME/./}")" "$VENV" "$VENV"
