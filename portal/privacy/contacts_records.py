"""The privacy registry's view of address changes (portal/contacts): every change, how it was confirmed, by whom."""

from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import ContactChange

CHANGE_FIELDS = {"requested_at": "When the change was asked for", "channel": "email or phone",
                 "address": "The new address (empty: removed)", "previous": "The address it replaced",
                 "origin": "Where it was asked for (staff form, privacy centre, correction, guardian added …)",
                 "status": "Waiting, confirmed, replaced, withdrawn, reported or expired",
                 "method": "How it was confirmed (link, code, in person, a message from the number)",
                 "confirmed_at": "When it was confirmed", "confirmed_by_name": "Staff member who checked in person",
                 "identity_check": "Identity document checked in person", "reported_at": "When it was reported"}


async def _changes(patient_id: int) -> list[dict]:
    rows = await ContactChange.select(*[getattr(ContactChange, f) for f in CHANGE_FIELDS]).where(
        ContactChange.patient == patient_id).order_by(ContactChange.id)
    return plain_rows(rows, CHANGE_FIELDS)


async def _erase_changes(patient_id: int) -> int:
    return len(await ContactChange.delete().where(ContactChange.patient == patient_id).returning(ContactChange.id))


register(DataCategory(
    name="contact_changes", title="Changes of contact details", order=11, retention="administrative",
    basis="on_request",
    purpose="To write only to addresses you confirmed, and to let you undo a change you did not make.",
    legal_basis="GDPR Art. 32 (security of processing) and Art. 6(1)(c)", recipients=("hosting", "mail", "sms"),
    fields=CHANGE_FIELDS, collect=_changes, erase=_erase_changes))
