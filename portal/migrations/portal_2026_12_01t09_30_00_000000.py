"""Calls: the clinic's voice number and where calls ring, each call logged, recordings only with consent."""

from portal.db import sql_migration

ID = "2026-12-01T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "phone calls and recordings"

SQL = """
ALTER TABLE clinic ADD COLUMN voice_number varchar(20) NOT NULL DEFAULT '';
ALTER TABLE clinic ADD COLUMN voice_forward_to varchar(20) NOT NULL DEFAULT '';
CREATE UNIQUE INDEX clinic_voice_number_unique ON clinic (voice_number) WHERE voice_number <> '';

CREATE TABLE phone_call (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE CASCADE,
    caller varchar(20) NOT NULL,
    call_sid varchar(64) NOT NULL UNIQUE,
    status varchar(20) NOT NULL DEFAULT 'ringing',
    recording_allowed boolean NOT NULL DEFAULT false,  -- consent held and the announcement played first
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    duration_seconds integer
);
CREATE INDEX phone_call_clinic_idx ON phone_call (clinic, started_at DESC);
CREATE INDEX phone_call_patient_idx ON phone_call (patient, started_at) WHERE patient IS NOT NULL;

CREATE TABLE call_recording (
    id bigserial PRIMARY KEY,
    call bigint NOT NULL REFERENCES phone_call(id) ON DELETE CASCADE,
    recording_sid varchar(64) NOT NULL UNIQUE,
    media_url varchar(500) NOT NULL,
    duration_seconds integer NOT NULL DEFAULT 0,
    content_type varchar(50) NOT NULL DEFAULT 'audio/mpeg',
    data bytea,  -- NULL until fetched from the provider (then deleted there)
    fetched_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
