"""The booking rules join the clinic's set-up version: a change to closures, provider hours or absences moves
`clinic.setup_version` too, so the slot finder and every booking can keep them per process with the chairs and
opening hours (portal/calendar/setup_cache.py)."""

from portal.db import sql_migration

ID = "2026-12-04T10:00:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "booking rules in the clinic set-up version"

SQL = """
CREATE TRIGGER closure_setup_changed AFTER INSERT OR UPDATE OR DELETE ON closure
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER provider_hours_setup_changed AFTER INSERT OR UPDATE OR DELETE ON provider_hours
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER provider_absence_setup_changed AFTER INSERT OR UPDATE OR DELETE ON provider_absence
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
