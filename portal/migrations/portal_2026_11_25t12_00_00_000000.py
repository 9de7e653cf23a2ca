"""Privacy centre: patient sign-in links and sessions, rights requests, exports, processors, the privacy
notice, retention rules, and the isolation flag that hides an erased patient's kept clinical record."""

from portal.db import sql_migration

ID = "2026-11-25T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "privacy centre"

SQL = """
ALTER TABLE clinic ADD COLUMN digital_consent_age smallint NOT NULL DEFAULT 16
    CHECK (digital_consent_age BETWEEN 13 AND 16);
ALTER TABLE patient ADD COLUMN isolated_at timestamptz;
CREATE INDEX patient_not_isolated_idx ON patient (clinic) WHERE isolated_at IS NULL;

CREATE TABLE patient_sign_in_link (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    email varchar(320) NOT NULL,
    token_hash varchar(64) NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patient_session (
    id bigserial PRIMARY KEY,
    token_hash varchar(64) NOT NULL UNIQUE,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    email varchar(320) NOT NULL,
    patient_id integer,
    guardian_id integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE TABLE privacy_request (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    patient_id integer,
    kind varchar(20) NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'received',
    channel varchar(20) NOT NULL DEFAULT 'privacy_centre',
    filed_by_kind varchar(20) NOT NULL,
    filed_by_name varchar(200) NOT NULL DEFAULT '',
    identity_check varchar(200) NOT NULL DEFAULT '',
    assignee integer REFERENCES staff(id) ON DELETE SET NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    extended_reason varchar(1000) NOT NULL DEFAULT '',
    decision_reason varchar(2000) NOT NULL DEFAULT '',
    decided_by integer,
    decided_at timestamptz
);
CREATE INDEX privacy_request_open_idx ON privacy_request (clinic, due_at) WHERE status IN ('received', 'in_progress');
CREATE INDEX privacy_request_patient_idx ON privacy_request (patient_id);

CREATE TABLE data_export (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient_id integer NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'queued',
    done integer NOT NULL DEFAULT 0,
    total integer NOT NULL DEFAULT 0,
    archive bytea,
    error varchar(500) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX data_export_patient_idx ON data_export (patient_id);

CREATE TABLE processor (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    name varchar(200) NOT NULL,
    kind varchar(40) NOT NULL,
    purpose varchar(500) NOT NULL DEFAULT '',
    location varchar(200) NOT NULL DEFAULT '',
    safeguards varchar(500) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE privacy_notice (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    version integer NOT NULL,
    body text NOT NULL,
    material boolean NOT NULL DEFAULT false,
    published_by integer,
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic, version)
);

CREATE TABLE retention_rule (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    retention_class varchar(40) NOT NULL,
    years integer NOT NULL CHECK (years BETWEEN 1 AND 100),
    basis varchar(40) NOT NULL,
    source varchar(300) NOT NULL,
    confirmed_by integer,
    confirmed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic, retention_class)
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
