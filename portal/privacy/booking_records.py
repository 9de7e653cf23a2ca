"""Online booking by one-time code in the privacy registry: the codes asked for (hashed) and the "booked online" mark.

Administrative, erased at once when staff approve an erasure. Requests that matched nobody have no patient and
lapse within minutes; the code itself is never stored, only its HMAC, which is not shown.
"""

from portal.i18n import lazy_gettext
from portal.privacy.categories import CONTRACT
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import BookingCode, OnlinePatient

CODE_FIELDS = {"created_at": lazy_gettext("When a code was asked for"),
               "kind": lazy_gettext("As an existing or a new patient"),
               "channel": lazy_gettext("Where the code went (email or text message)"),
               "address": lazy_gettext("The address typed"), "date_of_birth": lazy_gettext("The date of birth typed"),
               "used_at": lazy_gettext("When the code was used")}
ONLINE_FIELDS = {"created_at": lazy_gettext("When your record was made by online booking"),
                 "reviewed_at": lazy_gettext("When the practice checked it"),
                 "reviewed_by_name": lazy_gettext("Who checked it")}


async def _codes(patient_id: int) -> list[dict]:
    rows = await BookingCode.select().where(BookingCode.patient == patient_id).order_by(BookingCode.created_at)
    return plain_rows(rows, CODE_FIELDS)


async def _erase_codes(patient_id: int) -> int:
    return len(await BookingCode.delete().where(BookingCode.patient == patient_id).returning(BookingCode.id))


async def _marks(patient_id: int) -> list[dict]:
    return plain_rows(await OnlinePatient.select().where(OnlinePatient.patient == patient_id), ONLINE_FIELDS)


async def _erase_marks(patient_id: int) -> int:
    return len(await OnlinePatient.delete().where(OnlinePatient.patient == patient_id).returning(
        OnlinePatient.patient))


register(DataCategory(
    name="online_booking_codes", title=lazy_gettext("Codes for online booking"), order=27,
    retention="administrative", basis="on_request",
    purpose=lazy_gettext("To check who is booking before an appointment is booked online."), legal_basis=CONTRACT,
    recipients=("hosting", "mail", "sms"), fields=CODE_FIELDS, collect=_codes, erase=_erase_codes))
register(DataCategory(
    name="online_patient", title=lazy_gettext("Record made by online booking"), order=28,
    retention="administrative", basis="on_request",
    purpose=lazy_gettext("To let the practice check a record made by booking online."), legal_basis=CONTRACT,
    recipients=("hosting",), fields=ONLINE_FIELDS, collect=_marks, erase=_erase_marks))
