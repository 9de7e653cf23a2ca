"""Appointments last at most 8 hours: the calendar's index range scans rely on that bound."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from portal.db import run_sql

ID = "2026-11-24T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "appointment length limit"

SQL = "ALTER TABLE appointment ADD CONSTRAINT appointment_max_length CHECK (ends_at - starts_at <= interval '8 hours');"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_check():
        await run_sql(SQL)

    manager.add_raw(add_check)
    return manager
