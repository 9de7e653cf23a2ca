"""One person, several clinics: a staff row is a membership (clinic, role); the row a person signs in with is
their identity, and their rows in other clinics point at it."""

from portal.db import sql_migration

ID = "2026-12-02T01:40:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "staff memberships in several clinics"

# A membership row carries the identity's address (so the inviting owner sees what they typed, and mail reaches it)
# but never signs in: only rows without `person` do. One row per person and clinic.
SQL = """
ALTER TABLE staff ADD COLUMN person integer REFERENCES staff(id) ON DELETE CASCADE;
ALTER TABLE staff ADD COLUMN joined_at timestamptz;
ALTER TABLE staff DROP CONSTRAINT staff_email_key;
CREATE UNIQUE INDEX staff_identity_email_idx ON staff (email) WHERE person IS NULL;
CREATE UNIQUE INDEX staff_clinic_email_idx ON staff (clinic, email);
CREATE INDEX staff_person_idx ON staff (person) WHERE person IS NOT NULL;
-- An invitation to join another clinic with the identity one already has (no password chosen).
ALTER TABLE staff_token DROP CONSTRAINT staff_token_purpose_check;
ALTER TABLE staff_token ADD CONSTRAINT staff_token_purpose_check
    CHECK (purpose IN ('invitation', 'password_reset', 'membership'));
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
