"""Storage of clinics: each one a separate data controller."""

from piccolo.columns import Array, BigInt, Boolean, Integer, SmallInt, Timestamptz, Varchar
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
    sms_number = Varchar(length=20, default="")  # E.164: the number our SMS come from and replies reach
    voice_number = Varchar(length=20, default="")  # E.164: the provider number patients call
    voice_forward_to = Varchar(length=20, default="")  # E.164: where those calls ring (the front desk)
    tax_id = Varchar(length=40, default="")  # VAT or tax number printed on invoices
    payment_terms_days = SmallInt(default=30)  # invoices fall due this many days after issue
    supervisory_authority = Varchar(length=300, default="")  # named in refusals; '' = the country's default
    supervisory_authority_url = Varchar(length=300, default="")
    # Moved on by triggers whenever chairs, appointment types, opening hours or treating staff change: processes
    # keep those lists per version (portal/calendar/setup_cache.py).
    setup_version = BigInt(default=0)  # from clinic_setup_version_seq at the first change; 0 = nothing kept
