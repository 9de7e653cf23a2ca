"""The calendar version also moves with a clinic's patient tally (a patient added, erased or moved), so the
dashboard can keep its counts under the version it reads anyway for the today board (portal/dashboard.py): a kept
dashboard is then one statement. New patients are few beside the views; the calendar's copies they make stale are
drawn again once."""

from portal.db import sql_migration

ID = "2026-12-04T12:20:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "calendar version moves with the patient tally"

SQL = """
CREATE CONSTRAINT TRIGGER calendar_version_tally AFTER INSERT OR UPDATE OR DELETE ON patient_tally
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION calendar_version_move();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
