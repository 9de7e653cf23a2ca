"""Patient forms: templates per clinic, forms sent to a patient by a signed expiring link, filled and signed.

A filled form is a clinical record: once submitted its answers, signature, hash and PDF never change (trigger),
and it is deleted only under an erasure grant. Staff's decision (accept into a new version, or not) is the one
later change allowed, recorded with who and when.
"""

from portal.db import sql_migration

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "patient forms and drawn signatures"

SQL = """
CREATE TABLE form_template (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id) ON DELETE CASCADE,
    kind varchar(20) NOT NULL CHECK (kind IN ('medical_history', 'consent', 'new_patient')),
    title varchar(200) NOT NULL,
    intro text NOT NULL DEFAULT '',
    fields jsonb NOT NULL,
    UNIQUE (clinic, kind)
);

CREATE TABLE patient_form (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient (id),
    template integer NOT NULL REFERENCES form_template (id),
    kind varchar(20) NOT NULL,
    title varchar(200) NOT NULL,
    intro text NOT NULL DEFAULT '',
    fields jsonb NOT NULL,
    language varchar(8) NOT NULL,
    token_hash varchar(64) NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    sent_by integer NOT NULL,
    sent_by_name varchar(200) NOT NULL,
    sent_at timestamptz NOT NULL,
    submitted_at timestamptz,
    answers jsonb,
    signer_name varchar(200),
    signature_method varchar(10) CHECK (signature_method IN ('drawn', 'typed')),
    signature_strokes jsonb,
    signature_png bytea,
    signed_sha256 varchar(64),
    pdf bytea,
    decision varchar(10) CHECK (decision IN ('accepted', 'declined')),
    decided_by integer,
    decided_by_name varchar(200),
    decided_at timestamptz,
    history_version integer
);
CREATE INDEX patient_form_patient_idx ON patient_form (clinic, patient, sent_at DESC);

CREATE FUNCTION patient_form_signed_is_final() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'patient_form is kept' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.submitted_at IS NOT NULL AND (
        NEW.submitted_at IS DISTINCT FROM OLD.submitted_at OR NEW.answers IS DISTINCT FROM OLD.answers
        OR NEW.fields IS DISTINCT FROM OLD.fields OR NEW.signer_name IS DISTINCT FROM OLD.signer_name
        OR NEW.signature_strokes IS DISTINCT FROM OLD.signature_strokes
        OR NEW.signature_png IS DISTINCT FROM OLD.signature_png
        OR NEW.signed_sha256 IS DISTINCT FROM OLD.signed_sha256 OR NEW.pdf IS DISTINCT FROM OLD.pdf
        OR NEW.patient IS DISTINCT FROM OLD.patient
        OR (OLD.decision IS NOT NULL AND NEW.decision IS DISTINCT FROM OLD.decision)) THEN
        RAISE EXCEPTION 'a signed patient_form is final' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER patient_form_signed_is_final BEFORE UPDATE OR DELETE ON patient_form
    FOR EACH ROW EXECUTE FUNCTION patient_form_signed_is_final();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
