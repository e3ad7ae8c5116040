#!/usr/bin/env bash
# Build ops-bot's base image from Debian packages, for machines where no registry serves one.
#
#   bash scripts/build-base-image.sh            # -> opsbot/debian-base:bookworm-pg15
#   RELEASE=bookworm PG_MAJOR=15 bash scripts/build-base-image.sh
#
# The image is a `debootstrap --variant=minbase` of $RELEASE (default: this machine's Debian
# release) with what the Dockerfile needs: python3 (3.11 in bookworm) and python3-venv,
# postgresql-client-$PG_MAJOR (pg_dump refuses a server newer than itself, so PG_MAJOR must be
# at least the stack's Postgres), git, make, gzip, tini and ca-certificates. It is imported
# with `docker import` and tagged by release name, so a build never floats to another release.
#
# Cached twice: nothing is done when the tag exists on the engine; otherwise the root
# filesystem tarball under $CACHE_DIR (/var/cache/ops-bot) is imported without debootstrap.
# The Debian mirror is the one this machine's apt uses (override with MIRROR=...). It prints
# the tag on its last line. DOCKER_HOST is honoured, so it can fill a private engine too.
set -euo pipefail

release_of_this_machine() {
    # shellcheck disable=SC1091
    (. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")
}

RELEASE="${RELEASE:-$(release_of_this_machine)}"
PG_MAJOR="${PG_MAJOR:-15}"
CACHE_DIR="${CACHE_DIR:-/var/cache/ops-bot}"
TAG="${BASE_IMAGE:-opsbot/debian-base:${RELEASE}-pg${PG_MAJOR}}"
TARBALL="$CACHE_DIR/debian-base-${RELEASE}-pg${PG_MAJOR}.tar.gz"
PACKAGES="python3,python3-venv,postgresql-client-${PG_MAJOR},git,make,gzip,tini,ca-certificates"

log() { printf 'build-base-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The first Debian (not security) mirror of the machine's apt sources, deb822 or one-line form.
apt_mirror() {
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    local uri
    uri=$(cat "${files[@]}" 2>/dev/null |
        sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' |
        tr ' ' '\n' | grep -v -e security -e '^$' | head -n 1 || true)
    [[ -n "$uri" ]] || die "no Debian mirror in /etc/apt/sources.list*: set MIRROR=http://…/debian"
    printf '%s' "$uri"
}

if docker image inspect "$TAG" >/dev/null 2>&1; then
    log "$TAG: already on the engine"
    printf '%s\n' "$TAG"
    exit 0
fi

if [[ ! -s "$TARBALL" ]]; then
    command -v debootstrap >/dev/null 2>&1 || {
        log "installing debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
    }
    MIRROR="${MIRROR:-$(apt_mirror)}"
    mkdir -p "$CACHE_DIR"
    rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $RELEASE with $PACKAGES (a few minutes the first time)"
    debootstrap --variant=minbase --include="$PACKAGES" "$RELEASE" "$rootfs" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed, see $CACHE_DIR/debootstrap.log"
    # The image's own apt sources name the same mirror and release (a Dockerfile may add packages).
    printf 'deb %s %s main\n' "$MIRROR" "$RELEASE" >"$rootfs/etc/apt/sources.list"
    # What a container never needs: package lists and caches, docs, man pages, other locales.
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
    "$rootfs/usr/bin/pg_dump" --version >/dev/null 2>&1 || [[ -e "$rootfs/usr/lib/postgresql/$PG_MAJOR/bin/pg_dump" ]] ||
        die "no pg_dump $PG_MAJOR in the root filesystem"
    tar --numeric-owner -C "$rootfs" -czf "$TARBALL.part" .
    mv "$TARBALL.part" "$TARBALL"
    rm -rf "$rootfs"
    trap - EXIT
    log "root filesystem cached in $TARBALL"
fi

log "docker import $TARBALL as $TAG"
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --message "debootstrap $RELEASE minbase + $PACKAGES" \
    "$TARBALL" "$TAG" >/dev/null
printf '%s\n' "$TAG"
