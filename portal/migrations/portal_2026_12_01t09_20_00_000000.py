"""Provider credentials per clinic, encrypted at rest (Fernet): written once, never shown again."""

from portal.db import sql_migration

ID = "2026-12-01T09:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clinic credentials"

SQL = """
CREATE TABLE clinic_credential (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    provider varchar(40) NOT NULL,
    names text NOT NULL DEFAULT '',  -- which fields are set (comma-separated), for the settings page
    ciphertext text NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    saved_by integer REFERENCES staff(id) ON DELETE SET NULL,
    UNIQUE (clinic, provider)
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
