"""Tooth findings become append-only in the database, like notes, histories and signed exams: a correction is a new
finding, and only an approved erasure or the retention engine (`chairside_allow_erasure`) removes one.

The tooth chart keeps each patient's folded findings per process under their count, id sum and newest
`recorded_at` (portal/charts/odontogram.py); that version is exact only because a finding is never changed in
place, which this trigger now guarantees.
"""

from portal.db import sql_migration

ID = "2026-12-04T10:20:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "tooth findings append-only"

SQL = """
CREATE TRIGGER tooth_finding_append_only BEFORE UPDATE OR DELETE ON tooth_finding
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
