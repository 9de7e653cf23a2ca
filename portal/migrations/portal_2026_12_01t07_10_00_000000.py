"""Referral letters out to specialists (signed PDF, mailed) and in from other practices, with an append-only
history of their statuses (sent, seen, report received)."""

from portal.db import sql_migration

ID = "2026-12-01T07:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral letters"

SQL = """
CREATE TABLE referral (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    direction varchar(3) NOT NULL CHECK (direction IN ('out', 'in')),
    specialty varchar(20) NOT NULL,
    other_party varchar(200) NOT NULL,
    other_email varchar(320) NOT NULL DEFAULT '',
    reason varchar(500) NOT NULL,
    body text NOT NULL DEFAULT '',
    image_ids integer[] NOT NULL DEFAULT '{}',
    status varchar(20) NOT NULL,
    report text NOT NULL DEFAULT '',
    signed_by integer REFERENCES staff(id) ON DELETE SET NULL,
    signed_by_name varchar(200) NOT NULL DEFAULT '',
    registration varchar(300) NOT NULL DEFAULT '',
    content_hash varchar(64) NOT NULL DEFAULT '',
    pdf bytea,
    created_at timestamptz NOT NULL
);
CREATE INDEX referral_patient_idx ON referral (patient, created_at);

CREATE TABLE referral_event (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    referral integer NOT NULL REFERENCES referral(id) ON DELETE CASCADE,
    status varchar(20) NOT NULL,
    note text NOT NULL DEFAULT '',
    by_staff integer REFERENCES staff(id) ON DELETE SET NULL,
    by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL
);
CREATE INDEX referral_event_referral_idx ON referral_event (referral, at);
CREATE TRIGGER referral_event_append_only BEFORE UPDATE OR DELETE ON referral_event
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

-- The signed letter never changes: only the status, and the report when it arrives, are written later.
CREATE FUNCTION referral_letter_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.body, NEW.reason, NEW.other_party, NEW.content_hash, NEW.pdf, NEW.signed_by_name)
        IS NOT DISTINCT FROM (OLD.body, OLD.reason, OLD.other_party, OLD.content_hash, OLD.pdf, OLD.signed_by_name)
    THEN
        RETURN NEW;
    END IF;
    IF chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'a signed referral letter is kept as signed' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER referral_letter_kept BEFORE UPDATE OR DELETE ON referral
    FOR EACH ROW EXECUTE FUNCTION referral_letter_kept();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
