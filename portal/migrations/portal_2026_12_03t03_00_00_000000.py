"""Signed exports and fuller imports: each clinic's Ed25519 export key (private half sealed with the credentials
key), uploads waiting for the owner's confirmation, and the previous clinic's forms, lab cases, invoices and account
entries kept as imported history (append-only; never this clinic's orders or revenue)."""

from portal.db import sql_migration

ID = "2026-12-03T03:00:00:000000"
VERSION = "1.39.3"
DESCRIPTION = "export signing keys, staged imports, imported history"

SQL = """
-- One signing key per clinic (made on first use); `retired_at` keeps old keys publishable after a rotation.
CREATE TABLE export_signing_key (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    key_id varchar(40) NOT NULL UNIQUE,
    public_key bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    private_key_sealed text NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
CREATE UNIQUE INDEX export_signing_key_current ON export_signing_key (clinic) WHERE retired_at IS NULL;

-- An export checked and shown to the owner, waiting for "Import" (deleted on import, or after a day).
CREATE TABLE import_upload (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    uploaded_by integer REFERENCES staff(id) ON DELETE CASCADE,
    uploaded_at timestamptz NOT NULL,
    data bytea NOT NULL
);
CREATE INDEX import_upload_clinic_idx ON import_upload (clinic, uploaded_at);

-- A record of the previous clinic (a form, a lab case, an invoice, an account entry) as it exported it: history,
-- read only. `category` is the export category it came from; `record` its fields; `data` its file (a PDF).
CREATE TABLE imported_record (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id),
    patient_import integer NOT NULL REFERENCES patient_import(id),
    category varchar(40) NOT NULL CHECK (category IN ('forms', 'lab_cases', 'invoices', 'account_ledger')),
    source_ref varchar(80) NOT NULL,
    record jsonb NOT NULL,
    file_name varchar(200) NOT NULL DEFAULT '',
    data bytea
);
CREATE INDEX imported_record_patient_idx ON imported_record (clinic, patient, category, id);

CREATE FUNCTION imported_record_is_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'imported_record is kept as the previous clinic made it' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER imported_record_append_only BEFORE UPDATE OR DELETE ON imported_record
    FOR EACH ROW EXECUTE FUNCTION imported_record_is_kept();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
