"""Lab directory, lab cases with their append-only status history and invoices, disclosures to recipients, and
signed prescriptions (append-only: corrections are new entries)."""

from portal.db import sql_migration

ID = "2026-12-01T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lab cases, disclosures and prescriptions"

SQL = """
CREATE TABLE lab (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    name varchar(200) NOT NULL,
    contact varchar(200) NOT NULL DEFAULT '',
    email varchar(320) NOT NULL DEFAULT '',
    address varchar(500) NOT NULL DEFAULT '',
    turnaround jsonb NOT NULL DEFAULT '{}'::jsonb,
    prices jsonb NOT NULL DEFAULT '{}'::jsonb,
    shares_history boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);
CREATE INDEX lab_clinic_idx ON lab (clinic);

CREATE TABLE lab_case (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    lab integer NOT NULL REFERENCES lab(id),
    dentist integer REFERENCES staff(id) ON DELETE SET NULL,
    dentist_name varchar(200) NOT NULL DEFAULT '',
    seating_appointment integer REFERENCES appointment(id) ON DELETE SET NULL,
    items jsonb NOT NULL DEFAULT '[]'::jsonb,
    teeth varchar(200) NOT NULL DEFAULT '',
    shade varchar(40) NOT NULL DEFAULT '',
    material varchar(100) NOT NULL DEFAULT '',
    instructions text NOT NULL DEFAULT '',
    image_ids integer[] NOT NULL DEFAULT '{}',
    turnaround_days smallint NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'draft',
    sent_at timestamptz,
    carrier varchar(100) NOT NULL DEFAULT '',
    tracking varchar(100) NOT NULL DEFAULT '',
    remake_reason varchar(500) NOT NULL DEFAULT '',
    slip_sha256 varchar(64) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX lab_case_clinic_status_idx ON lab_case (clinic, status);
CREATE INDEX lab_case_patient_idx ON lab_case (patient);
CREATE INDEX lab_case_appointment_idx ON lab_case (seating_appointment);

CREATE TABLE lab_case_event (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    lab_case integer NOT NULL REFERENCES lab_case(id) ON DELETE CASCADE,
    status varchar(20) NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    by_staff integer REFERENCES staff(id) ON DELETE SET NULL,
    by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL
);
CREATE INDEX lab_case_event_case_idx ON lab_case_event (lab_case, at);
CREATE TRIGGER lab_case_event_append_only BEFORE UPDATE OR DELETE ON lab_case_event
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

CREATE TABLE lab_invoice (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    lab_case integer NOT NULL REFERENCES lab_case(id) ON DELETE CASCADE,
    amount numeric(10, 2) NOT NULL CHECK (amount <> 0),
    currency varchar(3) NOT NULL,
    reference varchar(100) NOT NULL DEFAULT '',
    recorded_by integer REFERENCES staff(id) ON DELETE SET NULL,
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL
);
CREATE INDEX lab_invoice_case_idx ON lab_invoice (lab_case);
CREATE TRIGGER lab_invoice_append_only BEFORE UPDATE OR DELETE ON lab_invoice
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

CREATE TABLE disclosure (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    recipient_kind varchar(20) NOT NULL,
    recipient_name varchar(200) NOT NULL,
    recipient_address varchar(320) NOT NULL DEFAULT '',
    data jsonb NOT NULL DEFAULT '[]'::jsonb,
    subject_type varchar(20) NOT NULL,
    subject_id integer NOT NULL,
    by_staff integer REFERENCES staff(id) ON DELETE SET NULL,
    by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL
);
CREATE INDEX disclosure_patient_idx ON disclosure (patient, at);
CREATE TRIGGER disclosure_append_only BEFORE UPDATE OR DELETE ON disclosure
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

CREATE TABLE prescription (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    medicine varchar(200) NOT NULL,
    strength varchar(100) NOT NULL DEFAULT '',
    dose varchar(200) NOT NULL,
    quantity varchar(100) NOT NULL,
    instructions varchar(1000) NOT NULL DEFAULT '',
    repeats smallint NOT NULL DEFAULT 0 CHECK (repeats BETWEEN 0 AND 12),
    warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
    prescriber integer REFERENCES staff(id) ON DELETE SET NULL,
    prescriber_name varchar(200) NOT NULL,
    registration varchar(300) NOT NULL DEFAULT '',
    content_hash varchar(64) NOT NULL,
    pdf bytea NOT NULL,
    signed_at timestamptz NOT NULL
);
CREATE INDEX prescription_patient_idx ON prescription (patient, signed_at);
CREATE TRIGGER prescription_append_only BEFORE UPDATE OR DELETE ON prescription
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
