"""Recall and online booking: recall types, patients' due dates, contact attempts, booking settings, slot holds."""

from portal.db import sql_migration

ID = "2026-12-01T06:00:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "recall types, patient recalls, contact attempts, online booking settings and holds"

SQL = """
CREATE TABLE recall_type (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    name varchar(80) NOT NULL,
    months smallint NOT NULL CHECK (months BETWEEN 1 AND 60),
    appointment_type integer REFERENCES appointment_type(id) ON DELETE SET NULL,
    fee_codes varchar(200) NOT NULL DEFAULT '',
    for_children boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX recall_type_name_idx ON recall_type (clinic, lower(name));

CREATE TABLE patient_recall (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    recall_type integer NOT NULL REFERENCES recall_type(id) ON DELETE CASCADE,
    due_on date NOT NULL,
    last_done_on date,
    provider integer REFERENCES staff(id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient, recall_type)
);
CREATE INDEX patient_recall_due_idx ON patient_recall (clinic, due_on);

CREATE TABLE recall_contact (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    recall_type integer REFERENCES recall_type(id) ON DELETE SET NULL,
    kind varchar(20) NOT NULL CHECK (kind IN ('called', 'no_answer', 'mailed', 'texted', 'declined', 'reminded')),
    note varchar(300) NOT NULL DEFAULT '',
    actor_id integer,
    actor_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recall_contact_patient_idx ON recall_contact (patient, at);

CREATE TABLE online_booking (
    clinic integer PRIMARY KEY REFERENCES clinic(id) ON DELETE CASCADE,
    enabled boolean NOT NULL DEFAULT false,
    appointment_types integer[] NOT NULL DEFAULT '{}',
    days_ahead smallint NOT NULL DEFAULT 42 CHECK (days_ahead BETWEEN 1 AND 365),
    lead_hours smallint NOT NULL DEFAULT 12 CHECK (lead_hours BETWEEN 0 AND 720),
    hold_minutes smallint NOT NULL DEFAULT 10 CHECK (hold_minutes BETWEEN 1 AND 60),
    cutoff_hours smallint NOT NULL DEFAULT 24 CHECK (cutoff_hours BETWEEN 0 AND 720),
    reminder_days integer[] NOT NULL DEFAULT '{-14,0,21}',
    daily_cap integer NOT NULL DEFAULT 200 CHECK (daily_cap BETWEEN 0 AND 100000),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A slot held while a patient confirms: two holds never overlap on a chair or a provider (the database decides,
-- as the appointment table's constraints do for bookings). Expired holds are deleted before a new one goes in.
CREATE TABLE booking_hold (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    appointment_type integer NOT NULL REFERENCES appointment_type(id) ON DELETE CASCADE,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    chair integer NOT NULL REFERENCES chair(id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    moving integer REFERENCES appointment(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CONSTRAINT booking_hold_chair_free EXCLUDE USING gist (slot_key(chair, starts_at, ends_at) WITH &&),
    CONSTRAINT booking_hold_provider_free EXCLUDE USING gist (slot_key(provider, starts_at, ends_at) WITH &&)
);
CREATE INDEX booking_hold_clinic_idx ON booking_hold (clinic, starts_at);
CREATE INDEX booking_hold_expiry_idx ON booking_hold (expires_at);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
