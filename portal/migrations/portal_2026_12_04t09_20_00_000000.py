"""A clinic's set-up version: every change to its chairs, appointment types, opening hours or treating staff moves
`clinic.setup_version` to a new number, in the same transaction. The session query reads it with the clinic, so each process can
keep those lists between requests and know, without a query, when another process has changed them
(portal/calendar/setup_cache.py)."""

from portal.db import sql_migration

ID = "2026-12-04T09:20:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "clinic set-up version"

SQL = """
-- One sequence for every clinic and not owned by the column, so a version is never handed out twice, not even
-- after TRUNCATE ... RESTART IDENTITY (the test suite's clean tables).
CREATE SEQUENCE clinic_setup_version_seq;
ALTER TABLE clinic ADD COLUMN setup_version bigint NOT NULL DEFAULT nextval('clinic_setup_version_seq');

CREATE FUNCTION clinic_setup_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE clinic SET setup_version = nextval('clinic_setup_version_seq')
        WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.clinic ELSE NEW.clinic END;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER chair_setup_changed AFTER INSERT OR UPDATE OR DELETE ON chair
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER appointment_type_setup_changed AFTER INSERT OR UPDATE OR DELETE ON appointment_type
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER opening_hours_setup_changed AFTER INSERT OR UPDATE OR DELETE ON opening_hours
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER staff_setup_added AFTER INSERT OR DELETE ON staff
    FOR EACH ROW EXECUTE FUNCTION clinic_setup_changed();
CREATE TRIGGER staff_setup_changed AFTER UPDATE ON staff FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.active IS DISTINCT FROM NEW.active OR OLD.clinic IS DISTINCT FROM NEW.clinic)
    EXECUTE FUNCTION clinic_setup_changed();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
