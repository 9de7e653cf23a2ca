"""Finding whether a person has been shown a patient today under one action, by index: lists write a patient's
own audit row only the first time in a day (portal/audit.py, record_patients_shown), and that check reads this
small index instead of every row the person wrote today."""

from portal.db import sql_migration

ID = "2026-12-04T09:10:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "audit sighting index"

SQL = """
CREATE INDEX audit_entry_seen_idx ON audit_entry (clinic_id, actor_id, patient_id, action, at DESC)
    WHERE object_type = 'patient';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
