"""Storage of clinics: each one a separate data controller."""

from piccolo.columns import Array, Boolean, Integer, SmallInt, Timestamptz, Varchar
from piccolo.table import Table


class Clinic(Table, tablename="clinic"):
    name = Varchar(length=200)
    address = Varchar(length=500, default="")
    country = Varchar(length=2)
    time_zone = Varchar(length=64)
    contact_email = Varchar(length=320)
    privacy_email = Varchar(length=320)
    locale = Varchar(length=16, default="en")
    created_at = Timestamptz()
    ical_full_names = Boolean(default=False)  # iCal feeds show initials unless the owner turns this on
    tooth_numbering = Varchar(length=10, default="fdi")  # fdi | universal: display only, storage is FDI
    currency = Varchar(length=3, default="EUR")
    digital_consent_age = SmallInt(default=16)  # GDPR Art. 8: 13-16 depending on the country
    reminder_hours = Array(base_column=Integer(), default=[48, 2])  # reminders this many hours before
    whatsapp_phone_number_id = Varchar(length=40, default="")  # which WhatsApp business number is ours
    supervisory_authority = Varchar(length=300, default="")  # named in refusals; '' = the country's default
    supervisory_authority_url = Varchar(length=300, default="")
