"""Privacy: every clinic has notice version 1 from the moment it exists (the default text), so every consent
change names a notice version; clinics without one get it now."""

from portal.db import sql_migration

ID = "2026-12-01T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "default privacy notice as version 1"

SQL = """
CREATE FUNCTION chairside_default_notice_text(clinic_name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT clinic_name || ' is the controller of the personal data in your dental record. We use it to treat you, '
      || 'to plan your visits and to meet our legal duties. You may see, download, correct and ask us to '
      || 'erase your data, restrict or object to its use, and change your consents at any time in the '
      || 'privacy centre.'
$$;
CREATE FUNCTION chairside_first_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO privacy_notice (clinic, version, body, material, published_by, published_at)
  VALUES (NEW.id, 1, chairside_default_notice_text(NEW.name), false, NULL, coalesce(NEW.created_at, now()))
  ON CONFLICT (clinic, version) DO NOTHING;
  RETURN NEW;
END $$;
CREATE TRIGGER clinic_first_notice AFTER INSERT ON clinic FOR EACH ROW EXECUTE FUNCTION chairside_first_notice();
INSERT INTO privacy_notice (clinic, version, body, material, published_by, published_at)
SELECT c.id, 1, chairside_default_notice_text(c.name), false, NULL, c.created_at FROM clinic c
WHERE NOT EXISTS (SELECT 1 FROM privacy_notice n WHERE n.clinic = c.id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
