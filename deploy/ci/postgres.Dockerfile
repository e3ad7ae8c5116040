# CI stand-in for the official postgres image (no registry serves it here), built on the same
# debootstrap base with Debian's postgresql-$PG_MAJOR. Same interface as far as
# deploy/compose.yml uses it: POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, PGDATA at
# /var/lib/postgresql/data, `pg_isready` for the health check.
ARG BASE_IMAGE=opsbot/debian-base:bookworm-pg15
FROM ${BASE_IMAGE}
ARG PG_MAJOR=15
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR" \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql \
 && ln -s "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" /usr/local/bin/postgres \
 && ln -s "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" /usr/local/bin/initdb
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
USER postgres
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
