"""TOTP secrets encrypted at rest: the column holds a Fernet token (longer than base32)."""

from portal.db import sql_migration

ID = "2026-12-02T01:00:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "staff TOTP secrets stored encrypted"

# Existing plain secrets cannot be encrypted in SQL (the key is not in the database): the app seals them at the
# next code used, and the hourly housekeeping seals the rest (portal/two_factor/totp.py, seal_plain_secrets).
SQL = """
ALTER TABLE staff_totp ALTER COLUMN secret TYPE text;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
