"""Chairs in use and active appointment types have names unique per clinic, ignoring case: the front desk books
by name. Existing duplicates are renamed first (their id appended), so the upgrade never fails on old data."""

from portal.db import sql_migration

ID = "2026-11-30T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique chair and appointment type names per clinic"

SQL = """
UPDATE chair c SET name = left(c.name, 50) || ' (' || c.id || ')'
WHERE NOT c.retired AND EXISTS (SELECT 1 FROM chair d WHERE d.clinic = c.clinic AND NOT d.retired
                                AND lower(d.name) = lower(c.name) AND d.id < c.id);
CREATE UNIQUE INDEX chair_name_unique ON chair (clinic, lower(name)) WHERE NOT retired;

UPDATE appointment_type t SET name = left(t.name, 70) || ' (' || t.id || ')'
WHERE t.active AND EXISTS (SELECT 1 FROM appointment_type u WHERE u.clinic = t.clinic AND u.active
                           AND lower(u.name) = lower(t.name) AND u.id < t.id);
CREATE UNIQUE INDEX appointment_type_name_unique ON appointment_type (clinic, lower(name)) WHERE active;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
