"""Which showings of a list named a patient: the owner's audit page, filtered by patient, finds the list rows
(`object_type` 'patient_list', the ids in `detail.patients`) by this index as well as the patient's own rows."""

from portal.db import sql_migration

ID = "2026-12-04T09:40:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "audit list rows by patient"

SQL = """
CREATE INDEX IF NOT EXISTS audit_entry_list_patients_idx ON audit_entry USING gin ((detail -> 'patients'))
    WHERE object_type = 'patient_list';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
