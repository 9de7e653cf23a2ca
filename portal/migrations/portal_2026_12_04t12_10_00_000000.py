"""A version per clinic of what the calendar grids show: appointments, the names of their patients and their
active alerts. A web process keeps the grid it drew under this version and redraws only when it moved
(portal/calendar/grid_cache.py), so reading the version must be exact: it moves in the transaction that changes
what a grid shows, and is read before the rows it guards.

The triggers are deferred to commit, so the version row is the last lock such a transaction takes (no lock-order
cycle with the audit chain's lock or a booking's), and a transaction moves each clinic's version once however many
rows it changes.
"""

from portal.db import sql_migration

ID = "2026-12-04T12:10:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "calendar version per clinic"

SQL = """
CREATE TABLE calendar_version (
    clinic integer PRIMARY KEY REFERENCES clinic (id) ON DELETE CASCADE,
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO calendar_version (clinic) SELECT id FROM clinic;

CREATE FUNCTION calendar_version_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO calendar_version (clinic) VALUES (NEW.id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER calendar_version_added AFTER INSERT ON clinic FOR EACH ROW EXECUTE FUNCTION calendar_version_added();

CREATE FUNCTION calendar_version_move() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    changed integer := CASE WHEN TG_OP = 'DELETE' THEN OLD.clinic ELSE NEW.clinic END;
    marker text := 'chairside.calendar_moved_' || changed;
BEGIN
    IF coalesce(current_setting(marker, true), '') <> txid_current()::text THEN
        UPDATE calendar_version SET version = version + 1 WHERE clinic = changed;
        PERFORM set_config(marker, txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER calendar_version_appointment AFTER INSERT OR UPDATE OR DELETE ON appointment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION calendar_version_move();
CREATE CONSTRAINT TRIGGER calendar_version_alert AFTER INSERT OR UPDATE OR DELETE ON medical_alert
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION calendar_version_move();
CREATE CONSTRAINT TRIGGER calendar_version_patient AFTER UPDATE OF given_name, family_name, isolated_at ON patient
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.given_name IS DISTINCT FROM NEW.given_name OR OLD.family_name IS DISTINCT FROM NEW.family_name
          OR OLD.isolated_at IS DISTINCT FROM NEW.isolated_at)
    EXECUTE FUNCTION calendar_version_move();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
