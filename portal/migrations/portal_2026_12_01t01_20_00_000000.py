"""Staff two-factor sign-in: a TOTP secret per staff member, hashed recovery codes, remembered devices."""

from portal.db import sql_migration

ID = "2026-12-01T01:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff two-factor sign-in"

SQL = """
CREATE TABLE staff_totp (
    id serial PRIMARY KEY,
    staff integer NOT NULL UNIQUE REFERENCES staff(id) ON DELETE CASCADE,
    secret varchar(64) NOT NULL,
    confirmed_at timestamptz,
    last_counter bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);
CREATE TABLE staff_recovery_code (
    id serial PRIMARY KEY,
    staff integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    code_hash varchar(64) NOT NULL,
    used_at timestamptz
);
CREATE INDEX staff_recovery_code_staff ON staff_recovery_code (staff);
CREATE TABLE staff_trusted_device (
    id serial PRIMARY KEY,
    staff integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    token_hash varchar(64) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
