"""Waitlist offers for slots freed by a move or by removing a closure: the database queues them as they happen."""

from portal.db import sql_migration

ID = "2026-12-02T06:20:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "queue slots freed by moves and reopened closed days for the waitlist"

SQL = """
-- What frees time other than a status change (cancelled and no-show are read from the appointment itself): an
-- open appointment moved away from a time still to come, and closed days reopened by removing a closure. Written
-- by triggers, so every path (calendar drag, online move, an accepted earlier offer, the set-up page) is covered;
-- the worker offers each once by the waitlist's one rule (portal/recall/waitlist.py) and stamps `scanned_at`.
CREATE TABLE waitlist_freed_slot (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    cause varchar(10) NOT NULL CHECK (cause IN ('moved', 'reopened')),
    appointment integer REFERENCES appointment(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE CASCADE,
    appointment_type integer REFERENCES appointment_type(id) ON DELETE CASCADE,
    provider integer REFERENCES staff(id) ON DELETE CASCADE,
    chair integer REFERENCES chair(id) ON DELETE CASCADE,
    starts_at timestamptz,
    ends_at timestamptz,
    first_day date,
    last_day date,
    created_at timestamptz NOT NULL DEFAULT now(),
    scanned_at timestamptz,
    CHECK ((cause = 'moved' AND starts_at IS NOT NULL) OR (cause = 'reopened' AND first_day IS NOT NULL))
);
CREATE INDEX waitlist_freed_slot_todo_idx ON waitlist_freed_slot (id) WHERE scanned_at IS NULL;

CREATE FUNCTION chairside_waitlist_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('booked', 'confirmed') AND NEW.status = OLD.status AND OLD.starts_at > now()
       AND (NEW.starts_at, NEW.provider, NEW.chair) IS DISTINCT FROM (OLD.starts_at, OLD.provider, OLD.chair) THEN
        INSERT INTO waitlist_freed_slot (clinic, cause, appointment, patient, appointment_type, provider, chair,
                                         starts_at, ends_at)
        VALUES (OLD.clinic, 'moved', OLD.id, OLD.patient, OLD.appointment_type, OLD.provider, OLD.chair,
                OLD.starts_at, OLD.ends_at);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER appointment_move_frees AFTER UPDATE OF starts_at, provider, chair ON appointment
    FOR EACH ROW EXECUTE FUNCTION chairside_waitlist_moved();

CREATE FUNCTION chairside_waitlist_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.last_day >= current_date THEN
        INSERT INTO waitlist_freed_slot (clinic, cause, first_day, last_day)
        VALUES (OLD.clinic, 'reopened', greatest(OLD.first_day, current_date), OLD.last_day);
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER closure_removal_reopens AFTER DELETE ON closure
    FOR EACH ROW EXECUTE FUNCTION chairside_waitlist_reopened();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
