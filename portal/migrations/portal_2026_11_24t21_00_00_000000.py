"""Appointments last at most 8 hours: the calendar's index range scans rely on that bound."""

from portal.db import sql_migration

ID = "2026-11-24T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "appointment length limit"

SQL = "ALTER TABLE appointment ADD CONSTRAINT appointment_max_length CHECK (ends_at - starts_at <= interval '8 hours');"


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
