#!/usr/bin/env bash
# Prepare this machine for ops-bot's tests. Idempotent: every step checks first and
# skips what is already there, so a second run takes a few seconds.
#
#   - Debian packages (docker.io, busybox-static, postgresql, redis-server, git, gzip)
#   - PostgreSQL and Redis on 127.0.0.1, started if not answering
#   - dockerd (no bridge, no iptables: containers get no network), started if not answering
#   - docker image opsbot/busybox:latest, imported from Debian's static busybox
#   - pip install -e '.[dev]'
#   - npm dependencies of tests/bull/
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PYTHON="${PYTHON:-python}"
IMAGE="opsbot/busybox:latest"
START_TIME=$SECONDS

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5 s until it succeeds.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
    log "$what is up"
}

# ---------------------------------------------------------------- apt packages
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

if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    log "Debian packages present"
fi

# ---------------------------------------------------------------- PostgreSQL
if pg_isready -h 127.0.0.1 -q; then
    log "postgres already answering"
else
    pg_version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$pg_version" ]] || die "no cluster under /etc/postgresql"
    log "starting postgres $pg_version"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
    wait_for 30 postgres pg_isready -h 127.0.0.1 -q || die "postgres does not answer on 127.0.0.1:5432"
fi

# ---------------------------------------------------------------- Redis
redis_up() { [[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" == PONG ]]; }
if redis_up; then
    log "redis already answering"
else
    log "starting redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for 30 redis redis_up || die "redis does not answer on 127.0.0.1:6379"
fi

# ---------------------------------------------------------------- Docker engine
if docker info >/dev/null 2>&1; then
    log "docker engine already answering"
else
    # A dockerd killed uncleanly leaves its pid file behind and then refuses to start.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    log "starting dockerd (--bridge=none --iptables=false), log in /tmp/dockerd.log"
    setsid nohup dockerd --bridge=none --iptables=false </dev/null >>/tmp/dockerd.log 2>&1 &
    if ! wait_for 60 "docker engine" docker info; then
        tail -n 20 /tmp/dockerd.log >&2 || true
        die "docker info still fails after 60 s"
    fi
fi

# ---------------------------------------------------------------- busybox image
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE present"
else
    log "building $IMAGE from Debian's busybox-static"
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
    log "image $IMAGE built"
fi

# ---------------------------------------------------------------- Python package
log "pip install -e '.[dev]'"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input \
    --root-user-action=ignore -e '.[dev]'

# ---------------------------------------------------------------- tests/bull npm deps
# npm ci wipes node_modules every time, so only run it when the lock file changed.
bull_dir="$REPO_ROOT/tests/bull"
lock_sum="$(sha256sum "$bull_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$bull_dir/node_modules/.opsbot-lock-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]]; then
    log "tests/bull node_modules up to date"
else
    log "npm ci in tests/bull"
    (cd "$bull_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_sum" >"$stamp"
fi

# ---------------------------------------------------------------- final check
out="$(docker run --rm --network none "$IMAGE" sh -c 'echo ok')"
[[ "$out" == ok ]] || die "docker run $IMAGE printed '$out', expected 'ok'"
log "docker run --network none $IMAGE: ok"
log "done in $((SECONDS - START_TIME)) s"
