"""Address changes: a new email or mobile number waits here until its holder (or staff, in person) confirms it."""

from portal.db import sql_migration

ID = "2026-12-01T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact changes awaiting confirmation"

# The patient and guardian columns keep only confirmed addresses (every sender and the privacy centre's sign-in
# read them); what was on file before this migration counts as confirmed, as it always has.
SQL = """
CREATE TABLE contact_change (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id),
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    guardian integer REFERENCES guardian(id) ON DELETE CASCADE,
    channel varchar(10) NOT NULL CHECK (channel IN ('email', 'phone')),
    address varchar(320) NOT NULL,
    previous varchar(320) NOT NULL DEFAULT '',
    origin varchar(30) NOT NULL,
    requested_by_kind varchar(20) NOT NULL,
    requested_by_id integer,
    requested_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    token_hash varchar(64),
    code_hash varchar(64),
    code_attempts integer NOT NULL DEFAULT 0,
    report_token_hash varchar(64),
    notified_at timestamptz,
    status varchar(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'superseded', 'withdrawn', 'reported', 'expired')),
    cools boolean NOT NULL DEFAULT true,
    confirmed_at timestamptz,
    method varchar(20) NOT NULL DEFAULT '',
    confirmed_by integer REFERENCES staff(id),
    confirmed_by_name varchar(200) NOT NULL DEFAULT '',
    identity_check varchar(200) NOT NULL DEFAULT '',
    checked_by_clinician boolean NOT NULL DEFAULT false,
    reported_at timestamptz
);
CREATE UNIQUE INDEX contact_change_token ON contact_change (token_hash) WHERE token_hash IS NOT NULL;
CREATE UNIQUE INDEX contact_change_report_token ON contact_change (report_token_hash)
    WHERE report_token_hash IS NOT NULL;
CREATE INDEX contact_change_patient ON contact_change (clinic, patient, requested_at);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
