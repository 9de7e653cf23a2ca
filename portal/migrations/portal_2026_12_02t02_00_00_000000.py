"""Imported patient records: each import of another clinic's export, and the visit history it brought."""

from portal.db import sql_migration

ID = "2026-12-02T02:00:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "patient record imports and imported visit history"

SQL = """
-- One row per imported export: where it came from and a digest of its document, so the same file is not
-- imported twice. The patient link goes when the patient is erased; the row (no personal data) stays as proof.
CREATE TABLE patient_import (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    source_clinic varchar(200) NOT NULL,
    source_country varchar(2) NOT NULL DEFAULT '',
    source_patient_id integer NOT NULL,
    generated_at timestamptz NOT NULL,
    document_sha256 varchar(64) NOT NULL,
    imported_by integer REFERENCES staff(id) ON DELETE SET NULL,
    imported_at timestamptz NOT NULL,
    counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (clinic, document_sha256)
);

-- Visits at the previous clinic, as that clinic recorded them: history, not bookings (they hold no chair or
-- provider here, so they never collide with this clinic's calendar).
CREATE TABLE imported_visit (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id),
    patient_import integer NOT NULL REFERENCES patient_import(id),
    source_ref varchar(80) NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    status varchar(20) NOT NULL,
    type varchar(200) NOT NULL DEFAULT '',
    provider varchar(200) NOT NULL DEFAULT '',
    notes varchar(1000) NOT NULL DEFAULT '',
    cancel_reason varchar(300) NOT NULL DEFAULT ''
);
CREATE INDEX imported_visit_patient_idx ON imported_visit (clinic, patient, starts_at);

CREATE FUNCTION imported_visit_is_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'imported_visit is part of the clinical record' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER imported_visit_append_only BEFORE UPDATE OR DELETE ON imported_visit
    FOR EACH ROW EXECUTE FUNCTION imported_visit_is_kept();

-- An imported note or image keeps the visit it belonged to at the previous clinic.
ALTER TABLE clinical_note ADD COLUMN imported_visit integer REFERENCES imported_visit(id);
ALTER TABLE patient_image ADD COLUMN imported_visit integer REFERENCES imported_visit(id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
