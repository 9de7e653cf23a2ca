"""Background jobs: procrastinate's queue schema, job run/error records, reminder settings and outbox guards."""

from portal.db import sql_migration

ID = "2026-11-25T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "procrastinate queue, job records, reminders"

SQL = """
CREATE TABLE job_run (
    task_name varchar(128) PRIMARY KEY,
    last_started_at timestamptz NOT NULL DEFAULT now(),
    last_finished_at timestamptz,
    last_status varchar(20) NOT NULL DEFAULT 'running',
    last_error text NOT NULL DEFAULT ''
);
CREATE TABLE job_error (
    job_id bigint PRIMARY KEY,
    task_name varchar(128) NOT NULL,
    error text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE clinic ADD COLUMN reminder_hours integer[] NOT NULL DEFAULT ARRAY[48, 2];

-- A reminder carries what must still hold when it is sent: the consent, and the appointment unchanged.
ALTER TABLE outbox_message ADD COLUMN guard_consent varchar(40),
    ADD COLUMN guard_appointment_id bigint, ADD COLUMN guard_sequence integer;
ALTER TABLE outbox_message DROP CONSTRAINT outbox_message_status_check;
ALTER TABLE outbox_message ADD CONSTRAINT outbox_message_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'dead', 'withdrawn'));
CREATE INDEX outbox_message_status_idx ON outbox_message (clinic_id, status);

-- The same answer as portal.consents.may_contact, usable inside one set-based statement.
CREATE FUNCTION chairside_may_contact(patient_id integer, kind text) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
    SELECT coalesce((SELECT p.restricted_at IS NULL AND p.objected_at IS NULL AND coalesce((
        SELECT c.granted FROM consent_event c WHERE c.patient = p.id AND c.kind = $2 ORDER BY c.id DESC LIMIT 1
    ), false) FROM patient p WHERE p.id = $1), false)
$fn$;

-- A committed message wakes a worker at once: one delivery job is queued in the same transaction
-- (procrastinate's queueing lock keeps at most one waiting).
CREATE FUNCTION chairside_queue_delivery() RETURNS void LANGUAGE sql AS $fn$
    INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args)
    VALUES ('default', 'outbox.deliver', 'outbox.deliver', jsonb_build_object())
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
$fn$;
CREATE FUNCTION chairside_wake_outbox() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM chairside_queue_delivery();
    RETURN NULL;
END
$fn$;
CREATE TRIGGER outbox_message_wake AFTER INSERT ON outbox_message
    FOR EACH STATEMENT EXECUTE FUNCTION chairside_wake_outbox();

-- Staff invitations and password resets: only a hash of the token is kept; single use, time-limited.
CREATE TABLE staff_token (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    staff integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    purpose varchar(20) NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    token_hash varchar(64) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
"""


def _procrastinate_schema() -> str:
    """procrastinate's own schema at the pinned version (its later migrations become ours when we upgrade)."""
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()


async def forwards():
    return sql_migration(ID, DESCRIPTION, _procrastinate_schema() + SQL)
