"""Social leads in the privacy registry: the lead-ads form a patient filled in on Facebook or Instagram before they
became a patient (its answers, where and when), on the access page, in the export and erased with the rest."""

import json

from portal.i18n import lazy_gettext
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import Lead

LEAD_FIELDS = {"created_at": lazy_gettext("When the form reached the practice"),
               "source": lazy_gettext("Where it was filled in (Facebook or Instagram)"),
               "answers": lazy_gettext("Your answers on the form")}


async def _social_leads(patient_id: int) -> list[dict]:
    rows = await Lead.select(Lead.created_at, Lead.source, Lead.answers).where(
        (Lead.patient == patient_id) & (Lead.source != "")).order_by(Lead.created_at)
    for row in rows:
        answers = json.loads(row["answers"]) if isinstance(row["answers"], str) else row["answers"] or {}
        row["answers"] = "; ".join(f"{question}: {answer}" for question, answer in answers.items())
    return plain_rows(rows, LEAD_FIELDS)


async def _erase_social_leads(patient_id: int) -> int:
    return len(await Lead.delete().where((Lead.patient == patient_id) & (Lead.source != "")).returning(Lead.id))


register(DataCategory(
    name="social_leads", title=lazy_gettext("Lead forms (Facebook, Instagram)"), order=78,
    retention="administrative", basis="on_request",
    purpose=lazy_gettext("Answering a request made through the practice's lead form."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(b) (steps at the person's request before an agreement)"),
    recipients=("hosting",), fields=LEAD_FIELDS, collect=_social_leads, erase=_erase_social_leads))
