"""Erasure through the owner role: append-only rows yield only to a grant that a SECURITY DEFINER function
records for the current transaction, not to a setting any session may change.

`chairside.erasure` and `chairside.audit_purge` were custom settings: every role can set them, so the
credentials serving web requests could lift the append-only rule at will. Now the triggers ask
`chairside_erasure_allowed()`, which looks for a row of `erasure_grant` written in this transaction; only
`chairside_allow_erasure(purpose)` (owned by the schema owner, SECURITY DEFINER) writes there, and the
application role has no privilege on that table (portal/db_roles.py). Each grant stays as a record.
"""

from portal.db import sql_migration

ID = "2026-11-30T04:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "erasure grants through a SECURITY DEFINER function"

SQL = """
CREATE TABLE erasure_grant (
    id bigserial PRIMARY KEY,
    txid bigint NOT NULL,
    purpose varchar(20) NOT NULL CHECK (purpose IN ('erasure', 'retention')),
    granted_to name NOT NULL DEFAULT session_user,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_grant_txid_idx ON erasure_grant (txid);

CREATE FUNCTION chairside_allow_erasure(purpose text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    INSERT INTO erasure_grant (txid, purpose) VALUES (txid_current(), purpose)
$fn$;
CREATE FUNCTION chairside_erasure_allowed() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM erasure_grant WHERE txid = txid_current())
$fn$;

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND chairside_erasure_allowed() THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE OR REPLACE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND chairside_erasure_allowed() THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent_event is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE OR REPLACE FUNCTION clinical_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$fn$;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
