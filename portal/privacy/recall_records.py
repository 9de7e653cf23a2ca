"""Recall and online booking in the privacy registry: a patient's recalls, contact attempts and held slots.

All administrative: erased at once when staff approve an erasure (the appointments themselves stay in the
appointments category, a clinical record). Reminders sent are in "messages"; no recipient beyond the hosting
and the mail/SMS providers the contact details already name. Waitlist offers are erased before the entries
they belong to (a lower order).
"""

from portal.i18n import lazy_gettext
from portal.privacy.categories import CONTRACT
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import BookingHold, PatientRecall, RecallContact, WaitlistEntry, WaitlistOffer

RECALL_FIELDS = {
    "recall_type.name": lazy_gettext("Kind of recall (e.g. check-up every six months)"),
    "due_on": lazy_gettext("When the next visit is due"),
    "last_done_on": lazy_gettext("When it was last done"),
    "provider.name": lazy_gettext("Who did it last"),
    "updated_at": lazy_gettext("When this was last changed"),
}
CONTACT_FIELDS = {
    "at": lazy_gettext("When"),
    "kind": lazy_gettext("Called, no answer, mailed, texted, declined, or a reminder sent by the system"),
    "note": lazy_gettext("Note"),
    "actor_name": lazy_gettext("Who made the attempt (empty: the system)"),
}
WAITLIST_FIELDS = {
    "appointment_type.name": lazy_gettext("Waiting for"),
    "earliest": lazy_gettext("From"),
    "part_of_day": lazy_gettext("Time of day"),
    "note": lazy_gettext("Note"),
    "status": lazy_gettext("Waiting, booked or removed"),
    "created_at": lazy_gettext("When you were put on the list"),
}
OFFER_FIELDS = {
    "starts_at": lazy_gettext("The time offered"),
    "channel": lazy_gettext("How we told you"),
    "status": lazy_gettext("Offered, accepted, taken by someone else, expired or declined"),
    "created_at": lazy_gettext("When offered"),
    "answered_at": lazy_gettext("When answered"),
}
HOLD_FIELDS = {
    "starts_at": lazy_gettext("Start of the time held"),
    "ends_at": lazy_gettext("End"),
    "expires_at": lazy_gettext("When the hold lapses"),
    "created_at": lazy_gettext("When you chose it"),
}


async def _recalls(patient_id: int) -> list[dict]:
    rows = (
        await PatientRecall.select(
            *PatientRecall.all_columns(), PatientRecall.recall_type.name, PatientRecall.provider.name
        )
        .where(PatientRecall.patient == patient_id)
        .order_by(PatientRecall.due_on)
    )
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


register(
    DataCategory(
        name="recall",
        title=lazy_gettext("Recall"),
        order=22,
        retention="administrative",
        basis="on_request",
        purpose=lazy_gettext("To invite the patient back when the next check-up or hygiene visit is due."),
        legal_basis=CONTRACT,
        recipients=("hosting",),
        fields=RECALL_FIELDS,
        collect=_recalls,
        erase=_erase_recalls,
    )
)
register(
    DataCategory(
        name="recall_contacts",
        title=lazy_gettext("Recall contact attempts"),
        order=23,
        retention="administrative",
        basis="on_request",
        purpose=lazy_gettext("To remember when we called, mailed or texted about a recall, and the answer."),
        legal_basis=CONTRACT,
        recipients=("hosting",),
        fields=CONTACT_FIELDS,
        collect=_contacts,
        erase=_erase_contacts,
    )
)
register(
    DataCategory(
        name="booking_holds",
        title=lazy_gettext("Times held while booking online"),
        order=24,
        retention="administrative",
        basis="on_request",
        purpose=lazy_gettext("To hold a time chosen online for a few minutes until it is confirmed."),
        legal_basis=CONTRACT,
        recipients=("hosting",),
        fields=HOLD_FIELDS,
        collect=_holds,
        erase=_erase_holds,
    )
)


async def _waitlist(patient_id: int) -> list[dict]:
    rows = (
        await WaitlistEntry.select(*WaitlistEntry.all_columns(), WaitlistEntry.appointment_type.name)
        .where(WaitlistEntry.patient == patient_id)
        .order_by(WaitlistEntry.created_at)
    )
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


register(
    DataCategory(
        name="waitlist_offers",
        title=lazy_gettext("Earlier times offered to you"),
        order=25,
        retention="administrative",
        basis="on_request",
        purpose=lazy_gettext("To offer a freed time and record the answer."),
        legal_basis=CONTRACT,
        recipients=("hosting", "mail", "sms"),
        fields=OFFER_FIELDS,
        collect=_offers,
        erase=_erase_offers,
    )
)
register(
    DataCategory(
        name="waitlist",
        title=lazy_gettext("Waitlist"),
        order=26,
        retention="administrative",
        basis="on_request",
        purpose=lazy_gettext("To offer an earlier appointment when one becomes free."),
        legal_basis=CONTRACT,
        recipients=("hosting",),
        fields=WAITLIST_FIELDS,
        collect=_waitlist,
        erase=_erase_waitlist,
    )
)
