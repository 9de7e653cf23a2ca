"""The clinic's record of processing activities (GDPR Art. 30) and its age of digital consent."""

from datetime import date

from portal import audit
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.i18n import gettext
from portal.permissions import Actor, Permission, require
from portal.privacy import processors, retention
from portal.privacy.registry import all_categories
from portal.tables import Clinic


async def processing_record(actor: Actor) -> dict:
    """One activity per registered category, with the processors that receive it and how long it is kept."""
    require(actor, Permission.MANAGE_CLINIC)
    clinic = await Clinic.select().where(Clinic.id == actor.clinic_id).first()
    found = await processors.list_processors(actor.clinic_id)
    rules = await retention.confirmed_rules(actor.clinic_id)
    activities = []
    for category in all_categories():
        rule = rules.get(category.retention)
        keep = (gettext("Until the data subject asks for erasure") if category.retention == "administrative" else
                gettext("%(years)s years %(basis)s (%(source)s)", years=rule["years"],
                        basis=retention.BASES[rule["basis"]], source=rule["source"]) if rule else
                gettext("No retention rule confirmed yet: kept, nothing erased automatically"))
        activities.append({"category": category, "recipients": processors.recipients_for(category.recipients, found),
                           "keep": keep})
    return {"clinic": clinic, "activities": activities, "processors": found, "kinds": processors.KINDS,
            "generated": date.today()}


async def consent_age(actor: Actor) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    row = await Clinic.select(Clinic.digital_consent_age).where(Clinic.id == actor.clinic_id).first()
    return row["digital_consent_age"]


async def set_consent_age(actor: Actor, raw: str) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    age = whole_number(raw)
    if age is None or not 13 <= age <= 16:
        raise ValidationFailed({"age": gettext("Choose an age between 13 and 16.")})
    async with transaction():
        await Clinic.update({Clinic.digital_consent_age: age}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "privacy.consent_age_set", object_type="clinic", object_id=actor.clinic_id,
                           detail={"age": age})
