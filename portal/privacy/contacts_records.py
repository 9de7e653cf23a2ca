"""The privacy registry's view of address changes (portal/contacts): every change, how it was confirmed, by whom."""

from portal.i18n import lazy_gettext
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import ContactChange

CHANGE_FIELDS = {
    "requested_at": lazy_gettext("When the change was asked for"),
    "channel": lazy_gettext("email, phone or postal address"),
    "address": lazy_gettext("The new address (empty: removed)"), "previous": lazy_gettext("The address it replaced"),
    "origin": lazy_gettext("Where it was asked for (staff form, privacy centre, correction, guardian added …)"),
    "status": lazy_gettext("Waiting, confirmed, replaced, withdrawn, reported or expired"),
    "method": lazy_gettext("How it was confirmed (link, code, in person, a message from the number)"),
    "confirmed_at": lazy_gettext("When it was confirmed"),
    "confirmed_by_name": lazy_gettext("Staff member who checked in person"),
    "identity_check": lazy_gettext("Identity document checked in person"),
    "reported_at": lazy_gettext("When it was reported"),
    "cooling_ended_at": lazy_gettext("When a later identity check in person ended the waiting period"),
    "cooling_ended_by_name": lazy_gettext("Staff member who ended the waiting period"),
    "cooling_ended_check": lazy_gettext("Identity document checked to end the waiting period")}


async def _changes(patient_id: int) -> list[dict]:
    rows = await ContactChange.select(*[getattr(ContactChange, f) for f in CHANGE_FIELDS]).where(
        ContactChange.patient == patient_id).order_by(ContactChange.id)
    return plain_rows(rows, CHANGE_FIELDS)


async def _erase_changes(patient_id: int) -> int:
    return len(await ContactChange.delete().where(ContactChange.patient == patient_id).returning(ContactChange.id))


register(DataCategory(
    name="contact_changes", title=lazy_gettext("Changes of contact details"), order=11, retention="administrative",
    basis="on_request",
    purpose=lazy_gettext("To write only to confirmed addresses, and so that an unwanted change can be undone."),
    legal_basis=lazy_gettext("GDPR Art. 32 (security of processing) and Art. 6(1)(c)"),
    recipients=("hosting", "mail", "sms"),
    fields=CHANGE_FIELDS, collect=_changes, erase=_erase_changes))
