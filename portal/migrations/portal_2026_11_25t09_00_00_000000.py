"""Patient charts: versioned medical history, alerts, tooth findings, fee schedule, treatment plans with
recorded acceptances, and append-only signed clinical notes (amendments reference the original)."""

from portal.db import sql_migration

ID = "2026-11-25T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "patient charts"

SQL = """
ALTER TABLE clinic ADD COLUMN tooth_numbering varchar(10) NOT NULL DEFAULT 'fdi'
    CHECK (tooth_numbering IN ('fdi', 'universal'));
ALTER TABLE clinic ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR';

CREATE TABLE medical_history (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    version integer NOT NULL,
    conditions text NOT NULL DEFAULT '',
    medications text NOT NULL DEFAULT '',
    allergies text NOT NULL DEFAULT '',
    pregnant boolean,
    smoking varchar(10) NOT NULL DEFAULT 'unknown',
    notes text NOT NULL DEFAULT '',
    recorded_by integer REFERENCES staff(id),
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient, version)
);

CREATE TABLE medical_alert (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    label varchar(120) NOT NULL,
    severity varchar(10) NOT NULL DEFAULT 'high' CHECK (severity IN ('high', 'medium')),
    source varchar(10) NOT NULL CHECK (source IN ('history', 'manual')),
    history_version integer,
    created_by integer REFERENCES staff(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by integer REFERENCES staff(id)
);
CREATE INDEX medical_alert_active_idx ON medical_alert (patient) WHERE resolved_at IS NULL;

CREATE TABLE tooth_finding (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    tooth smallint NOT NULL CHECK ((tooth BETWEEN 11 AND 48 AND tooth % 10 BETWEEN 1 AND 8)
                                   OR (tooth BETWEEN 51 AND 85 AND tooth % 10 BETWEEN 1 AND 5)),
    surfaces varchar(5) NOT NULL DEFAULT '' CHECK (surfaces ~ '^M?O?D?B?L?$'),
    kind varchar(20) NOT NULL,
    material varchar(40) NOT NULL DEFAULT '',
    state varchar(10) NOT NULL CHECK (state IN ('existing', 'planned', 'completed')),
    note varchar(500) NOT NULL DEFAULT '',
    plan_item integer,
    recorded_by integer REFERENCES staff(id),
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tooth_finding_patient_idx ON tooth_finding (patient, tooth, id);

CREATE TABLE procedure_code (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    code varchar(20) NOT NULL,
    description varchar(200) NOT NULL,
    fee numeric(10, 2) NOT NULL CHECK (fee >= 0),
    charts_as varchar(20) NOT NULL DEFAULT '',
    material varchar(40) NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    UNIQUE (clinic, code)
);

CREATE TABLE treatment_plan (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    status varchar(12) NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed', 'accepted', 'in_progress', 'completed', 'declined')),
    version integer NOT NULL DEFAULT 1,
    currency char(3) NOT NULL,
    created_by integer REFERENCES staff(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX treatment_plan_patient_idx ON treatment_plan (patient, id DESC);

CREATE TABLE plan_item (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    plan integer NOT NULL REFERENCES treatment_plan(id) ON DELETE CASCADE,
    phase smallint NOT NULL DEFAULT 1 CHECK (phase BETWEEN 1 AND 9),
    procedure_code integer REFERENCES procedure_code(id) ON DELETE SET NULL,
    code varchar(20) NOT NULL,
    description varchar(200) NOT NULL,
    fee numeric(10, 2) NOT NULL,
    charts_as varchar(20) NOT NULL DEFAULT '',
    material varchar(40) NOT NULL DEFAULT '',
    tooth smallint,
    surfaces varchar(5) NOT NULL DEFAULT '',
    status varchar(10) NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'completed', 'declined')),
    completed_at timestamptz,
    completed_by integer REFERENCES staff(id)
);
CREATE INDEX plan_item_plan_idx ON plan_item (plan, phase, id);

-- What the patient agreed to, frozen: later fee or plan changes never alter an acceptance.
CREATE TABLE plan_acceptance (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    plan integer NOT NULL REFERENCES treatment_plan(id) ON DELETE CASCADE,
    plan_version integer NOT NULL,
    total numeric(12, 2) NOT NULL,
    currency char(3) NOT NULL,
    items jsonb NOT NULL,
    accepted_by varchar(200) NOT NULL,
    method varchar(20) NOT NULL,
    recorded_by integer REFERENCES staff(id),
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clinical_note (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    appointment integer REFERENCES appointment(id) ON DELETE SET NULL,
    template varchar(20) NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    amends integer REFERENCES clinical_note(id),
    amendment_reason varchar(500) NOT NULL DEFAULT '',
    author integer REFERENCES staff(id),
    author_name varchar(200) NOT NULL,
    author_role varchar(20) NOT NULL,
    author_credentials varchar(200) NOT NULL DEFAULT '',
    content_hash varchar(64) NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clinical_note_patient_idx ON clinical_note (patient, id DESC);
CREATE INDEX clinical_note_amends_idx ON clinical_note (amends) WHERE amends IS NOT NULL;

-- Signed notes and recorded acceptances are append-only for the application; only the retention engine or an
-- approved erasure (which set chairside.erasure for their own transaction) may delete them.
CREATE FUNCTION clinical_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('chairside.erasure', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER clinical_note_append_only BEFORE UPDATE OR DELETE ON clinical_note
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER plan_acceptance_append_only BEFORE UPDATE OR DELETE ON plan_acceptance
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER medical_history_append_only BEFORE UPDATE OR DELETE ON medical_history
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
