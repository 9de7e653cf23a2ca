"""Owner resets of a staff member's second factor: the member enrols again at their next sign-in."""

from portal.db import sql_migration

ID = "2026-12-02T01:10:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "staff second-factor resets"

SQL = """
CREATE TABLE staff_two_factor_reset (
    id serial PRIMARY KEY,
    staff integer NOT NULL UNIQUE REFERENCES staff(id) ON DELETE CASCADE,
    reset_by integer REFERENCES staff(id) ON DELETE SET NULL,
    reset_at timestamptz NOT NULL DEFAULT now()
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
