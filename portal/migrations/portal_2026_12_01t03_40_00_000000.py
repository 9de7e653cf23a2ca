"""Privacy: the breach register (GDPR Art. 33/34): incidents, their 72-hour clock, the patients affected."""

from portal.db import sql_migration

ID = "2026-12-01T03:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "breach register"

SQL = """
CREATE TABLE breach (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id) ON DELETE CASCADE,
    what text NOT NULL,
    discovered_at timestamptz NOT NULL,
    occurred_from timestamptz NOT NULL,
    occurred_to timestamptz NOT NULL,
    categories jsonb NOT NULL DEFAULT '[]',
    consequences text NOT NULL DEFAULT '',
    measures text NOT NULL DEFAULT '',
    high_risk boolean NOT NULL DEFAULT false,
    authority_notified_at timestamptz,
    authority_reference varchar(200) NOT NULL DEFAULT '',
    patients_notified_at timestamptz,
    recorded_by integer,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX breach_clinic ON breach (clinic, discovered_at);
CREATE TABLE breach_patient (
    id serial PRIMARY KEY,
    breach integer NOT NULL REFERENCES breach (id) ON DELETE CASCADE,
    patient_id integer NOT NULL,
    UNIQUE (breach, patient_id)
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
