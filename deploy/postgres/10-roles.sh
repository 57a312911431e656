#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d), as the
# superuser: the two roles of docs/database-roles.md, with passwords read from secret files.
set -eu
owner_pw=$(cat /run/secrets/db_owner_password)
app_pw=$(cat /run/secrets/db_app_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$owner_pw" -v app_pw="$app_pw" <<'SQL'
CREATE ROLE bastion_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE bastion_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE bastion OWNER bastion_owner;
\c bastion
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO bastion_owner;
GRANT USAGE ON SCHEMA public TO bastion_app;
SQL
