#!/bin/sh
# Run by the postgres image once, when it initialises an empty data volume (compose.yaml).
# renraku_app is the group role migration 000015 grants to: every table, but only read
# and append on the audit log. renraku_server is the login renraku serves as; the schema
# (and so the audit log) belongs to POSTGRES_USER, who runs the migrations.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=pw="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE renraku_app NOLOGIN;
CREATE ROLE renraku_server LOGIN PASSWORD :'pw' IN ROLE renraku_app;
SQL
