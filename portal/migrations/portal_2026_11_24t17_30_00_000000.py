"""Foundation schema: clinics, staff, sessions, sign-in attempts, patients, guardians, audit trail.

Written as SQL, not generated, because it uses PostgreSQL features Piccolo does not model (generated
tsvector column, expression indexes, the append-only trigger); core features only, so it runs on the
embedded server and on any PostgreSQL 16+.
"""

from portal.db import sql_migration

ID = "2026-11-24T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foundation schema"

SQL = """
CREATE TABLE clinic (
    id serial PRIMARY KEY,
    name varchar(200) NOT NULL,
    address varchar(500) NOT NULL DEFAULT '',
    country varchar(2) NOT NULL,
    time_zone varchar(64) NOT NULL,
    contact_email varchar(320) NOT NULL,
    privacy_email varchar(320) NOT NULL,
    locale varchar(16) NOT NULL DEFAULT 'en',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    name varchar(200) NOT NULL,
    email varchar(320) NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash varchar(200) NOT NULL,
    role varchar(20) NOT NULL CHECK (role IN ('owner', 'dentist', 'hygienist', 'receptionist')),
    registration_body varchar(200) NOT NULL DEFAULT '',
    registration_number varchar(100) NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_clinic_idx ON staff (clinic);

CREATE TABLE web_session (
    id serial PRIMARY KEY,
    key varchar(128) NOT NULL UNIQUE,
    data bytea NOT NULL,
    staff_id integer,
    patient_id integer,
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_session_staff_idx ON web_session (staff_id) WHERE staff_id IS NOT NULL;
CREATE INDEX web_session_patient_idx ON web_session (patient_id) WHERE patient_id IS NOT NULL;
CREATE INDEX web_session_expires_idx ON web_session (expires_at);

CREATE TABLE login_attempt (
    id serial PRIMARY KEY,
    email varchar(320) NOT NULL,
    ip varchar(64) NOT NULL,
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempt_email_idx ON login_attempt (email, at);
CREATE INDEX login_attempt_ip_idx ON login_attempt (ip, at);

CREATE TABLE patient (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    given_name varchar(120) NOT NULL,
    family_name varchar(120) NOT NULL,
    date_of_birth date NOT NULL,
    gender varchar(20) NOT NULL DEFAULT '',
    national_id varchar(40) NOT NULL DEFAULT '',
    email varchar(320) NOT NULL DEFAULT '',
    phone_mobile varchar(20) NOT NULL DEFAULT '',
    phone_other varchar(20) NOT NULL DEFAULT '',
    address varchar(500) NOT NULL DEFAULT '',
    preferred_language varchar(16) NOT NULL DEFAULT 'en',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search_name tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', given_name || ' ' || family_name)) STORED
);
CREATE INDEX patient_search_name_idx ON patient USING gin (search_name);
CREATE INDEX patient_clinic_name_idx ON patient (clinic, family_name, given_name);
CREATE INDEX patient_dob_idx ON patient (clinic, date_of_birth);
CREATE INDEX patient_mobile_idx ON patient (phone_mobile text_pattern_ops);
CREATE INDEX patient_other_phone_idx ON patient (phone_other text_pattern_ops);
CREATE INDEX patient_national_id_idx ON patient (upper(national_id) text_pattern_ops);
CREATE INDEX patient_email_idx ON patient (lower(email));

CREATE TABLE guardian (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    name varchar(200) NOT NULL,
    relationship varchar(60) NOT NULL DEFAULT '',
    email varchar(320) NOT NULL DEFAULT '',
    phone varchar(20) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guardian_patient_idx ON guardian (patient);

CREATE TABLE audit_entry (
    id bigserial PRIMARY KEY,
    clinic_id integer,
    actor_kind varchar(20) NOT NULL,
    actor_id integer,
    actor_name varchar(200) NOT NULL DEFAULT '',
    patient_id integer,
    action varchar(60) NOT NULL,
    object_type varchar(60) NOT NULL DEFAULT '',
    object_id varchar(60) NOT NULL DEFAULT '',
    request_id varchar(40) NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_entry_clinic_at_idx ON audit_entry (clinic_id, at DESC);
CREATE INDEX audit_entry_patient_idx ON audit_entry (clinic_id, patient_id, at DESC);
CREATE INDEX audit_entry_actor_idx ON audit_entry (clinic_id, actor_kind, actor_id, at DESC);

-- The trail is append-only for the application. Only the retention engine may delete, and only after
-- it sets chairside.audit_purge for its own transaction.
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('chairside.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
