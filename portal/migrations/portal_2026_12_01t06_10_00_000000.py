"""Waitlist: patients waiting for an earlier appointment, offers of freed slots, and which freed slots were offered."""

from portal.db import sql_migration

ID = "2026-12-01T06:10:00:000000"
VERSION = "1.39.1"
DESCRIPTION = "waitlist entries, offers of freed slots"

SQL = """
CREATE TABLE waitlist_entry (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    appointment_type integer NOT NULL REFERENCES appointment_type(id) ON DELETE CASCADE,
    provider integer REFERENCES staff(id) ON DELETE SET NULL,
    earliest date NOT NULL,
    part_of_day varchar(10) NOT NULL DEFAULT '',
    note varchar(300) NOT NULL DEFAULT '',
    status varchar(10) NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'booked', 'removed')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waitlist_entry_clinic_idx ON waitlist_entry (clinic, status, created_at);

-- A freed slot is offered once (the scan records it here even when nobody matched).
CREATE TABLE waitlist_freed (
    appointment integer PRIMARY KEY REFERENCES appointment(id) ON DELETE CASCADE,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    offers integer NOT NULL DEFAULT 0,
    scanned_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE waitlist_offer (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    entry integer NOT NULL REFERENCES waitlist_entry(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    appointment_type integer NOT NULL REFERENCES appointment_type(id) ON DELETE CASCADE,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    chair integer NOT NULL REFERENCES chair(id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    freed_appointment integer REFERENCES appointment(id) ON DELETE SET NULL,
    expires_at timestamptz NOT NULL,
    status varchar(10) NOT NULL DEFAULT 'offered'
        CHECK (status IN ('offered', 'accepted', 'taken', 'expired', 'declined')),
    channel varchar(10) NOT NULL DEFAULT '',
    appointment integer REFERENCES appointment(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    UNIQUE (entry, starts_at)
);
CREATE INDEX waitlist_offer_clinic_idx ON waitlist_offer (clinic, created_at);
-- One accepted offer per freed start and provider, besides the appointment table's own constraints.
CREATE UNIQUE INDEX waitlist_offer_one_winner ON waitlist_offer (provider, starts_at) WHERE status = 'accepted';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
