"""Guardians as linked patient records and families (households) sharing a postal address (issue 15).

A guardian row either holds free text (name, relationship, confirmed email and phone, as before) or names the
guardian's own patient record in `guardian_patient`. For a linked row the database copies the name, language and
the confirmed email and mobile number of that record (the patient columns hold only confirmed addresses) on link
and on every change, so every reader of `guardian` (the privacy centre's sign-in, answers to requests, inbound mail
matching) keeps working unchanged and never sees an unconfirmed address. When the linked record is deleted the
link is set to NULL and the copied addresses are blanked (the row keeps the name as free text); erasure of the
guardian's record deletes the links first (portal/privacy/family_records.py).
"""

from portal.db import sql_migration

ID = "2026-12-03T04:00:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "guardians linked to patient records; families"

SQL = """
ALTER TABLE guardian ADD COLUMN guardian_patient integer REFERENCES patient(id) ON DELETE SET NULL;
ALTER TABLE guardian ADD CONSTRAINT guardian_not_self CHECK (guardian_patient IS DISTINCT FROM patient);
CREATE INDEX guardian_guardian_patient_idx ON guardian (guardian_patient) WHERE guardian_patient IS NOT NULL;
CREATE UNIQUE INDEX guardian_linked_once ON guardian (patient, guardian_patient) WHERE guardian_patient IS NOT NULL;

CREATE FUNCTION guardian_from_patient() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    IF NEW.guardian_patient IS NULL THEN
        IF TG_OP = 'UPDATE' AND OLD.guardian_patient IS NOT NULL THEN
            NEW.email := '';  -- the linked person's addresses were theirs, not this row's
            NEW.phone := '';
        END IF;
        RETURN NEW;
    END IF;
    SELECT clinic, given_name, family_name, email, phone_mobile, preferred_language INTO p
        FROM patient WHERE id = NEW.guardian_patient;
    IF p.clinic IS DISTINCT FROM NEW.clinic THEN
        RAISE EXCEPTION 'a guardian must be a patient of the same clinic' USING ERRCODE = 'check_violation';
    END IF;
    NEW.name := left(p.given_name || ' ' || p.family_name, 200);
    NEW.email := p.email;
    NEW.phone := p.phone_mobile;
    NEW.preferred_language := p.preferred_language;
    RETURN NEW;
END $$;
CREATE TRIGGER guardian_linked BEFORE INSERT OR UPDATE OF guardian_patient ON guardian
    FOR EACH ROW EXECUTE FUNCTION guardian_from_patient();

CREATE FUNCTION guardian_follows_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE guardian SET name = left(NEW.given_name || ' ' || NEW.family_name, 200), email = NEW.email,
        phone = NEW.phone_mobile, preferred_language = NEW.preferred_language
        WHERE guardian_patient = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER patient_guardian_copies AFTER UPDATE OF given_name, family_name, email, phone_mobile,
    preferred_language ON patient FOR EACH ROW
    WHEN (OLD.given_name IS DISTINCT FROM NEW.given_name OR OLD.family_name IS DISTINCT FROM NEW.family_name
          OR OLD.email IS DISTINCT FROM NEW.email OR OLD.phone_mobile IS DISTINCT FROM NEW.phone_mobile
          OR OLD.preferred_language IS DISTINCT FROM NEW.preferred_language)
    EXECUTE FUNCTION guardian_follows_patient();

CREATE TABLE family (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    name varchar(200) NOT NULL,
    address varchar(500) NOT NULL DEFAULT '',
    postcode varchar(12) NOT NULL DEFAULT '',
    city varchar(120) NOT NULL DEFAULT '',
    country varchar(2) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, clinic)
);
CREATE INDEX family_clinic_idx ON family (clinic);

-- One family per patient; the member's clinic is the family's (composite key), and the patient's is checked below.
CREATE TABLE family_member (
    id serial PRIMARY KEY,
    clinic integer NOT NULL,
    family integer NOT NULL,
    patient integer NOT NULL UNIQUE REFERENCES patient(id) ON DELETE CASCADE,
    joined_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (family, clinic) REFERENCES family(id, clinic) ON DELETE CASCADE
);
CREATE INDEX family_member_family_idx ON family_member (family);

CREATE FUNCTION family_member_same_clinic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM patient WHERE id = NEW.patient AND clinic = NEW.clinic) THEN
        RAISE EXCEPTION 'a family member must be a patient of the family''s clinic' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER family_member_clinic BEFORE INSERT OR UPDATE ON family_member
    FOR EACH ROW EXECUTE FUNCTION family_member_same_clinic();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
