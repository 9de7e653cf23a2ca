"""Consents as an append-only ledger, and the restriction/objection flags that stop reminders and marketing."""

from portal.db import sql_migration

ID = "2026-11-25T08:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "consent ledger and processing flags"

SQL = """
CREATE TABLE consent_event (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    kind varchar(40) NOT NULL,
    granted boolean NOT NULL,
    previous boolean,
    actor_kind varchar(20) NOT NULL,
    actor_id integer,
    actor_name varchar(200) NOT NULL DEFAULT '',
    source varchar(60) NOT NULL,
    notice_version varchar(40) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_event_current_idx ON consent_event (patient, kind, id DESC);

-- Append-only for the application; only an approved erasure (which sets chairside.erasure) may delete.
CREATE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('chairside.erasure', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent_event is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event
    FOR EACH ROW EXECUTE FUNCTION consent_event_append_only();

ALTER TABLE patient ADD COLUMN restricted_at timestamptz;
ALTER TABLE patient ADD COLUMN objected_at timestamptz;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
