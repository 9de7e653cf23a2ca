"""Routed email: mail in the conversation beside WhatsApp and SMS, its attachments, and leads known by address."""

from portal.db import sql_migration

ID = "2026-12-01T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routed email"

SQL = """
ALTER TABLE lead ALTER COLUMN phone DROP NOT NULL;
ALTER TABLE lead ADD COLUMN email varchar(254) NOT NULL DEFAULT '';
ALTER TABLE lead ADD CONSTRAINT lead_has_contact CHECK (phone IS NOT NULL OR email <> '');
CREATE UNIQUE INDEX lead_email_idx ON lead (clinic, lower(email)) WHERE email <> '';

ALTER TABLE conversation_message DROP CONSTRAINT conversation_message_channel_check;
ALTER TABLE conversation_message ADD CONSTRAINT conversation_message_channel_check
    CHECK (channel IN ('whatsapp', 'sms', 'email'));
ALTER TABLE conversation_message ALTER COLUMN phone SET DEFAULT '';
ALTER TABLE conversation_message ADD COLUMN email varchar(254) NOT NULL DEFAULT '';
ALTER TABLE conversation_message ADD COLUMN subject varchar(300) NOT NULL DEFAULT '';

CREATE TABLE conversation_attachment (
    id bigserial PRIMARY KEY,
    message bigint NOT NULL REFERENCES conversation_message(id) ON DELETE CASCADE,
    filename varchar(200) NOT NULL,
    content_type varchar(100) NOT NULL DEFAULT '',
    size integer NOT NULL,
    data bytea,  -- NULL when refused: the name and the reason stay, the bytes never do
    refused_reason varchar(200) NOT NULL DEFAULT '',
    CHECK ((data IS NULL) = (refused_reason <> ''))
);
CREATE INDEX conversation_attachment_message_idx ON conversation_attachment (message);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
