"""Storage of clinics: each one a separate data controller."""

from piccolo.columns import Boolean, SmallInt, Timestamptz, Varchar
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
