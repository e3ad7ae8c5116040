# CI stand-in for the official redis image (no registry serves it here): Debian's redis-server
# on the same debootstrap base, /data writable, `redis-cli ping` for the health check.
ARG BASE_IMAGE=opsbot/debian-base:bookworm-pg15
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
CMD ["redis-server", "--protected-mode", "no"]
