"""Online booking without a link: one-time codes (hashed, short-lived, few tries) and patients who booked online."""

from portal.db import sql_migration

ID = "2026-12-02T06:10:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "online booking by one-time code, new patients booked online for review"

SQL = """
-- A request for a code: the same row whether or not the details match anyone; the worker matches, issues the
-- code (stored as an HMAC) and sends it. The page's reference is stored hashed too.
CREATE TABLE booking_code (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    kind varchar(10) NOT NULL CHECK (kind IN ('known', 'new')),
    ref_hash varchar(64) NOT NULL UNIQUE,
    channel varchar(10) NOT NULL CHECK (channel IN ('email', 'sms')),
    address varchar(320) NOT NULL,
    date_of_birth date NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,  -- a new patient's names and language
    patient integer REFERENCES patient(id) ON DELETE CASCADE,
    code_hash varchar(64),
    issued_at timestamptz,
    attempts smallint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_code_expiry_idx ON booking_code (expires_at);

-- Patients whose record was made by online booking, until the front desk has reviewed them.
CREATE TABLE online_patient (
    patient integer PRIMARY KEY REFERENCES patient(id) ON DELETE CASCADE,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    reviewed_at timestamptz,
    reviewed_by integer REFERENCES staff(id) ON DELETE SET NULL,
    reviewed_by_name varchar(200) NOT NULL DEFAULT ''
);
CREATE INDEX online_patient_review_idx ON online_patient (clinic, created_at) WHERE reviewed_at IS NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
