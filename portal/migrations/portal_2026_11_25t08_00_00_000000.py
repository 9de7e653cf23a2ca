"""The transactional outbox: one row per message, unique by idempotency key so nothing is sent twice."""

from portal.db import sql_migration

ID = "2026-11-25T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox"

SQL = """
CREATE TABLE outbox_message (
    id bigserial PRIMARY KEY,
    clinic_id integer,
    patient_id integer,
    idempotency_key varchar(200) NOT NULL UNIQUE,
    channel varchar(20) NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms', 'whatsapp')),
    recipient varchar(320) NOT NULL,
    subject varchar(300) NOT NULL DEFAULT '',
    text_body text NOT NULL DEFAULT '',
    html_body text NOT NULL DEFAULT '',
    headers jsonb NOT NULL DEFAULT jsonb_build_object(),
    attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
    status varchar(20) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX outbox_message_due_idx ON outbox_message (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_message_patient_idx ON outbox_message (patient_id) WHERE patient_id IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
