"""Each web process keeps the sessions it read for a short while (sessions.SessionCache); every change to what a
session read returns tells every process at commit, on channel `chairside_sessions`: `s:<md5 of the key>` for a
session written or ended, `staff:<id>` for a staff row changed, `clinic:<id>` for a clinic or its closure, `*` for
a truncated table. The key itself never travels: a listener learns only which cached entry to drop."""

from portal.db import sql_migration

ID = "2026-12-04T12:00:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "session cache invalidation by NOTIFY"

SQL = """
CREATE FUNCTION chairside_session_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN  -- TRUNCATE: every entry may be gone
        PERFORM pg_notify('chairside_sessions', '*');
    ELSIF TG_TABLE_NAME = 'web_session' THEN
        PERFORM pg_notify('chairside_sessions', 's:' || md5(OLD.key));
    ELSIF TG_TABLE_NAME = 'staff' THEN
        PERFORM pg_notify('chairside_sessions', 'staff:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'clinic' THEN
        PERFORM pg_notify('chairside_sessions', 'clinic:' || OLD.id);
    ELSE  -- clinic_closure: the countdown every page of the clinic shows
        PERFORM pg_notify('chairside_sessions', 'clinic:' || coalesce(NEW.clinic, OLD.clinic));
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER web_session_cached AFTER UPDATE OR DELETE ON web_session
    FOR EACH ROW EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER staff_session_cached AFTER UPDATE OR DELETE ON staff
    FOR EACH ROW EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER clinic_session_cached AFTER UPDATE OR DELETE ON clinic
    FOR EACH ROW EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER clinic_closure_session_cached AFTER INSERT OR UPDATE OR DELETE ON clinic_closure
    FOR EACH ROW EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER web_session_cached_truncate AFTER TRUNCATE ON web_session
    FOR EACH STATEMENT EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER staff_session_cached_truncate AFTER TRUNCATE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION chairside_session_changed();
CREATE TRIGGER clinic_session_cached_truncate AFTER TRUNCATE ON clinic
    FOR EACH STATEMENT EXECUTE FUNCTION chairside_session_changed();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
