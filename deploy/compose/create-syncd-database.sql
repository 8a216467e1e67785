-- syncd's own role and database on Harbor's PostgreSQL server (run once, as its superuser):
--   docker exec -i harbor-db psql -U postgres -v pw="$(cat syncd/secrets/state-db-password)" \
--     < create-syncd-database.sql
-- syncd creates and migrates its tables itself at start; the role needs nothing beyond owning
-- its database, and no other role may connect to it.
\set ON_ERROR_STOP on
CREATE ROLE syncd LOGIN PASSWORD :'pw';
CREATE DATABASE syncd OWNER syncd;
REVOKE ALL ON DATABASE syncd FROM PUBLIC;
