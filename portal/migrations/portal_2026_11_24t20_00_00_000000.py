"""iCal feeds: one secret token per provider (stored as a SHA-256 hash), and the clinic's full-names choice."""

from portal.db import sql_migration

ID = "2026-11-24T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ical feed tokens"

SQL = """
ALTER TABLE clinic ADD COLUMN ical_full_names boolean NOT NULL DEFAULT false;

CREATE TABLE ical_token (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    token_hash varchar(64) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX ical_token_one_live_idx ON ical_token (provider) WHERE revoked_at IS NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
