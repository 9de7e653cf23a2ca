"""Calendar schema: chairs, appointment types, opening hours, closures, provider schedules, appointments.

Double booking is made impossible by PostgreSQL itself: two exclusion constraints (chair, provider) over
half-open ranges, for active statuses only. The embedded server has no btree_gist, so each constraint uses
core GiST range support on an int8range that an IMMUTABLE function builds from the owner id and epoch seconds
(owner * 10^10 + seconds: disjoint per owner, and ordinary range overlap within one owner).
"""

from portal.db import sql_migration

ID = "2026-11-24T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar schema"

SQL = """
CREATE TABLE chair (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    name varchar(60) NOT NULL,
    position integer NOT NULL DEFAULT 0,
    retired boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chair_clinic_idx ON chair (clinic, position);

CREATE TABLE appointment_type (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    name varchar(80) NOT NULL,
    minutes integer NOT NULL CHECK (minutes BETWEEN 5 AND 480 AND minutes % 5 = 0),
    colour varchar(7) NOT NULL DEFAULT '#2f7d6d' CHECK (colour ~ '^#[0-9a-f]{6}$'),
    provider_roles varchar(60) NOT NULL DEFAULT 'dentist,hygienist',
    active boolean NOT NULL DEFAULT true
);
CREATE INDEX appointment_type_clinic_idx ON appointment_type (clinic);

CREATE TABLE opening_hours (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens time NOT NULL,
    closes time NOT NULL CHECK (closes > opens)
);
CREATE INDEX opening_hours_clinic_idx ON opening_hours (clinic, weekday);

CREATE TABLE closure (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    first_day date NOT NULL,
    last_day date NOT NULL CHECK (last_day >= first_day),
    reason varchar(200) NOT NULL DEFAULT ''
);
CREATE INDEX closure_clinic_idx ON closure (clinic, first_day);

CREATE TABLE provider_hours (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    starts time NOT NULL,
    ends time NOT NULL CHECK (ends > starts),
    chair integer REFERENCES chair(id) ON DELETE SET NULL
);
CREATE INDEX provider_hours_idx ON provider_hours (clinic, provider, weekday);

CREATE TABLE provider_absence (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    first_day date NOT NULL,
    last_day date NOT NULL CHECK (last_day >= first_day),
    reason varchar(200) NOT NULL DEFAULT ''
);
CREATE INDEX provider_absence_idx ON provider_absence (clinic, provider, first_day);

CREATE FUNCTION slot_key(owner integer, starts timestamptz, ends timestamptz) RETURNS int8range
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$fn$ SELECT int8range(owner::int8 * 10000000000 + extract(epoch FROM starts)::int8,
                      owner::int8 * 10000000000 + extract(epoch FROM ends)::int8) $fn$;

CREATE TABLE appointment (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE RESTRICT,
    provider integer NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    chair integer NOT NULL REFERENCES chair(id) ON DELETE RESTRICT,
    appointment_type integer NOT NULL REFERENCES appointment_type(id) ON DELETE RESTRICT,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'booked' CHECK (status IN
        ('booked', 'confirmed', 'arrived', 'in_chair', 'completed', 'no_show', 'cancelled')),
    cancel_reason varchar(300) NOT NULL DEFAULT '',
    notes varchar(1000) NOT NULL DEFAULT '',
    sequence integer NOT NULL DEFAULT 0,
    created_by integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CONSTRAINT appointment_chair_free EXCLUDE USING gist (slot_key(chair, starts_at, ends_at) WITH &&)
        WHERE (status NOT IN ('cancelled', 'no_show')),
    CONSTRAINT appointment_provider_free EXCLUDE USING gist (slot_key(provider, starts_at, ends_at) WITH &&)
        WHERE (status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX appointment_clinic_time_idx ON appointment (clinic, starts_at);
CREATE INDEX appointment_patient_idx ON appointment (patient, starts_at);

CREATE TABLE appointment_change (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    appointment integer NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
    actor_id integer,
    actor_name varchar(200) NOT NULL DEFAULT '',
    kind varchar(20) NOT NULL,
    from_starts_at timestamptz,
    to_starts_at timestamptz,
    from_chair integer,
    to_chair integer,
    from_status varchar(20) NOT NULL DEFAULT '',
    to_status varchar(20) NOT NULL DEFAULT '',
    reason varchar(300) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointment_change_idx ON appointment_change (appointment, at);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
