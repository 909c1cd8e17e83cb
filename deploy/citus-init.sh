#!/bin/sh
# One-shot set-up of the Citus cluster of docker-compose.citus.yml, run as the superuser (the
# DBA's part, before the app's `migrate`): the app's logins on every node, the database with the
# citus extension on every node, the nodes registered on the coordinator, and the credentials
# the coordinator uses to reach the workers. Idempotent: safe to run on every `up`.
set -eu
: "${POSTGRES_PASSWORD:?}" "${OWNER_PASSWORD:?}" "${RUNTIME_PASSWORD:?}"
export PGUSER=postgres PGPASSWORD="$POSTGRES_PASSWORD"
DB=recon
OWNER=recon_owner
RUNTIME=${TENANT_DB_ROLE:-recon_tenant}

for node in coordinator worker1 worker2; do
  until pg_isready -q -h "$node" -d postgres; do sleep 1; done
  # Roles and the database exist per node; CREATE/ALTER keep the passwords in step.
  psql -v ON_ERROR_STOP=1 -qAt -h "$node" -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS', '$OWNER')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OWNER') \gexec
-- The tenant runtime role logs in on Citus: the coordinator opens its worker connections as
-- the current user. It stays NOSUPERUSER NOBYPASSRLS: RLS holds on every node.
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT', '$RUNTIME')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$RUNTIME') \gexec
ALTER ROLE $OWNER PASSWORD '$OWNER_PASSWORD';
ALTER ROLE $RUNTIME PASSWORD '$RUNTIME_PASSWORD';
GRANT $RUNTIME TO $OWNER;
SELECT format('CREATE DATABASE %I OWNER %I', '$DB', '$OWNER')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB') \gexec
SQL
  psql -v ON_ERROR_STOP=1 -qAt -h "$node" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS citus"
done

psql -v ON_ERROR_STOP=1 -qAt -h coordinator -d "$DB" <<SQL
SELECT citus_set_coordinator_host('coordinator', 5432);
SELECT citus_add_node(node, 5432) FROM unnest(ARRAY['worker1', 'worker2']) AS node
  WHERE NOT EXISTS (SELECT FROM pg_dist_node WHERE nodename = node);
-- How the coordinator authenticates to the workers, per login (readable by superusers only).
DELETE FROM pg_dist_authinfo WHERE rolename IN ('postgres', '$OWNER', '$RUNTIME');
INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES
  (0, 'postgres', 'password=$POSTGRES_PASSWORD'),
  (0, '$OWNER', 'password=$OWNER_PASSWORD'),
  (0, '$RUNTIME', 'password=$RUNTIME_PASSWORD');
SQL
echo "citus-init: coordinator and workers ready for $DB"
