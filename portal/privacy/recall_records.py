"""Recall and online booking in the privacy registry: a patient's recalls, contact attempts and held slots.

All administrative: erased at once when staff approve an erasure (the appointments themselves stay in the
appointments category, a clinical record). Reminders sent are in "messages"; no recipient beyond the hosting
and the mail/SMS providers the contact details already name. Waitlist offers are erased before the entries
they belong to (a lower order).
"""

from portal.privacy.categories import CONTRACT
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import BookingHold, PatientRecall, RecallContact, WaitlistEntry, WaitlistOffer

RECALL_FIELDS = {"recall_type.name": "Kind of recall (e.g. check-up every six months)",
                 "due_on": "When the next visit is due", "last_done_on": "When it was last done",
                 "provider.name": "Who did it last", "updated_at": "When this was last changed"}
CONTACT_FIELDS = {"at": "When", "kind": "called, no_answer, mailed, texted, declined or reminded (sent by the system)",
                  "note": "Note", "actor_name": "Who made the attempt (empty: the system)"}
WAITLIST_FIELDS = {"appointment_type.name": "Waiting for", "earliest": "From", "part_of_day": "Time of day",
                   "note": "Note", "status": "waiting, booked or removed",
                   "created_at": "When you were put on the list"}
OFFER_FIELDS = {"starts_at": "The time offered", "channel": "How we told you", "status":
                "offered, accepted, taken, expired or declined", "created_at": "When offered",
                "answered_at": "When answered"}
HOLD_FIELDS = {"starts_at": "Start of the time held", "ends_at": "End", "expires_at": "When the hold lapses",
               "created_at": "When you chose it"}


async def _recalls(patient_id: int) -> list[dict]:
    rows = await PatientRecall.select(*PatientRecall.all_columns(), PatientRecall.recall_type.name,
                                      PatientRecall.provider.name).where(
        PatientRecall.patient == patient_id).order_by(PatientRecall.due_on)
    return plain_rows(rows, RECALL_FIELDS)


async def _erase_recalls(patient_id: int) -> int:
    return len(await PatientRecall.delete().where(PatientRecall.patient == patient_id).returning(PatientRecall.id))


async def _contacts(patient_id: int) -> list[dict]:
    rows = await RecallContact.select().where(RecallContact.patient == patient_id).order_by(RecallContact.at)
    return plain_rows(rows, CONTACT_FIELDS)


async def _erase_contacts(patient_id: int) -> int:
    return len(await RecallContact.delete().where(RecallContact.patient == patient_id).returning(RecallContact.id))


async def _holds(patient_id: int) -> list[dict]:
    rows = await BookingHold.select().where(BookingHold.patient == patient_id).order_by(BookingHold.starts_at)
    return plain_rows(rows, HOLD_FIELDS)


async def _erase_holds(patient_id: int) -> int:
    return len(await BookingHold.delete().where(BookingHold.patient == patient_id).returning(BookingHold.id))


register(DataCategory(
    name="recall", title="Recall", order=22, retention="administrative", basis="on_request",
    purpose="To invite you back when your next check-up or hygiene visit is due.", legal_basis=CONTRACT,
    recipients=("hosting",), fields=RECALL_FIELDS, collect=_recalls, erase=_erase_recalls))
register(DataCategory(
    name="recall_contacts", title="Recall contact attempts", order=23, retention="administrative",
    basis="on_request", purpose="To remember when we called, mailed or texted you about your recall, and your answer.",
    legal_basis=CONTRACT, recipients=("hosting",), fields=CONTACT_FIELDS, collect=_contacts, erase=_erase_contacts))
register(DataCategory(
    name="booking_holds", title="Times held while booking online", order=24, retention="administrative",
    basis="on_request", purpose="To keep a time you chose online for a few minutes while you confirm.",
    legal_basis=CONTRACT, recipients=("hosting",), fields=HOLD_FIELDS, collect=_holds, erase=_erase_holds))


async def _waitlist(patient_id: int) -> list[dict]:
    rows = await WaitlistEntry.select(*WaitlistEntry.all_columns(), WaitlistEntry.appointment_type.name).where(
        WaitlistEntry.patient == patient_id).order_by(WaitlistEntry.created_at)
    return plain_rows(rows, WAITLIST_FIELDS)


async def _offers(patient_id: int) -> list[dict]:
    rows = await WaitlistOffer.select().where(WaitlistOffer.patient == patient_id).order_by(WaitlistOffer.created_at)
    return plain_rows(rows, OFFER_FIELDS)


async def _erase_waitlist(patient_id: int) -> int:
    offers = await WaitlistOffer.delete().where(WaitlistOffer.patient == patient_id).returning(WaitlistOffer.id)
    entries = await WaitlistEntry.delete().where(WaitlistEntry.patient == patient_id).returning(WaitlistEntry.id)
    return len(offers) + len(entries)


async def _erase_offers(patient_id: int) -> int:
    return len(await WaitlistOffer.delete().where(WaitlistOffer.patient == patient_id).returning(WaitlistOffer.id))


register(DataCategory(
    name="waitlist_offers", title="Earlier times offered to you", order=25, retention="administrative",
    basis="on_request", purpose="To offer you a freed time and record your answer.", legal_basis=CONTRACT,
    recipients=("hosting", "mail", "sms"), fields=OFFER_FIELDS, collect=_offers, erase=_erase_offers))
register(DataCategory(
    name="waitlist", title="Waitlist", order=26, retention="administrative", basis="on_request",
    purpose="To offer you an earlier appointment when one becomes free.", legal_basis=CONTRACT,
    recipients=("hosting",), fields=WAITLIST_FIELDS, collect=_waitlist, erase=_erase_waitlist))
