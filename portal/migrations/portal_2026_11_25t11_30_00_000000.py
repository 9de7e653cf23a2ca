"""Messaging: WhatsApp/SMS conversations with patients, leads from unknown numbers, the clinic's number id."""

from portal.db import sql_migration

ID = "2026-11-25T11:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversations and leads"

SQL = """
ALTER TABLE clinic ADD COLUMN whatsapp_phone_number_id varchar(40) NOT NULL DEFAULT '';
CREATE UNIQUE INDEX clinic_whatsapp_number_idx ON clinic (whatsapp_phone_number_id)
    WHERE whatsapp_phone_number_id <> '';

CREATE TABLE lead (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    phone varchar(20) NOT NULL,
    name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    patient integer REFERENCES patient(id) ON DELETE CASCADE,  -- erasing the patient erases the lead too
    converted_at timestamptz,
    UNIQUE (clinic, phone)
);

CREATE TABLE conversation_message (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE CASCADE,
    lead integer REFERENCES lead(id) ON DELETE CASCADE,
    channel varchar(20) NOT NULL CHECK (channel IN ('whatsapp', 'sms')),
    direction varchar(3) NOT NULL CHECK (direction IN ('in', 'out')),
    phone varchar(20) NOT NULL,
    body text NOT NULL DEFAULT '',
    provider_message_id varchar(200),
    outcome varchar(40) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now(),
    CHECK (patient IS NOT NULL OR lead IS NOT NULL)
);
CREATE UNIQUE INDEX conversation_message_provider_idx ON conversation_message (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX conversation_message_patient_idx ON conversation_message (patient, at) WHERE patient IS NOT NULL;
CREATE INDEX conversation_message_lead_idx ON conversation_message (lead, at) WHERE lead IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
