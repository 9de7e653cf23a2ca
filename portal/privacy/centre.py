"""What a patient (or their guardian) sees and does in the privacy centre: everything held, consents, contact."""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, consents, display, patient_fields
from portal.consents import ConsentChange, ConsentKind
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import Forbidden, NotFound
from portal.i18n import N_, gettext
from portal.permissions import Actor
from portal.privacy import notice, page_labels, processors, retention
from portal.privacy.registry import all_categories
from portal.tables import Clinic, ConsentEvent, Patient

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

PATIENT_KINDS = ("patient", "guardian")
SHOWN = 200  # rows per category on the page
# Headings that say "you": for a guardian they name the child instead.
FOR_CHILD = {"messages": N_("Messages sent about %(name)s"), "requests": N_("Privacy requests about %(name)s"),
             "access_log": N_("Who accessed %(name)s's record"),
             "forms": N_("Forms filled in and signed for %(name)s"),
             "imported_visits": N_("%(name)s's visits at the previous clinic"),
             "disclosures": N_("Who received %(name)s's data"),
             "waitlist_offers": N_("Earlier times offered for %(name)s")}


async def acting_for(actor: Actor | None) -> str | None:
    """The child's given name when a guardian acts for them (their pages and mail speak of the child), else None:
    only the session's own notion of a guardian acting for patient X is used."""
    if actor is None or actor.kind != "guardian" or actor.patient_id is None:
        return None
    row = await Patient.select(Patient.given_name).where((Patient.id == actor.patient_id)
                                                         & (Patient.clinic == actor.clinic_id)).first()
    return row["given_name"] if row else None


def subject_of(actor: Actor) -> int:
    """The patient a privacy-centre session acts for; staff never pass here."""
    if actor.kind not in PATIENT_KINDS or actor.patient_id is None:
        raise Forbidden("patient session required")
    return actor.patient_id


def readable(value, zone: str):
    """A stored value for people: ISO instants in the clinic's zone (the export's JSON and CSV keep ISO 8601)."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        return display.format_instant(datetime.fromisoformat(value), zone)
    if value is True or value is False:
        return "yes" if value else "no"
    return value


async def gather(clinic_id: int, patient_id: int, withheld: bool = False) -> list[dict]:
    """Every registered category with its rows, recipients and erasable date (callers audit the read); with
    `withheld`, the clinical ones are left out (a contact change is cooling off)."""
    found = await processors.list_processors(clinic_id)
    dates = await retention.erasable_dates(clinic_id, patient_id)
    zone = (await Clinic.select(Clinic.time_zone).where(Clinic.id == clinic_id).first())["time_zone"]
    sections = []
    for category in all_categories():
        if withheld and category.clinical:
            continue
        rows = await category.collect(patient_id)
        sections.append({"category": category, "title": category.title,
                         "count": len(rows),  # the page shows the newest; the ZIP all
                         "rows": [{k: readable(page_labels.value_for(category.name, k, v), zone)
                                   for k, v in row.items()} for row in rows[:SHOWN]],
                         "fields": page_labels.fields_for(category),
                         "recipients": processors.recipients_for(category.recipients, found),
                         "erasable": dates[category.name]})
    return sections


async def patient_header(clinic_id: int, patient_id: int) -> dict:
    row = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.restricted_at,
                               Patient.objected_at, Patient.isolated_at).where(
        (Patient.id == patient_id) & (Patient.clinic == clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def everything(actor: Actor, cooling_days: int) -> dict:
    """See everything held, grouped by category; the read is audited like a staff read. After a change of
    contact details the health record waits `cooling_days` (portal/contacts), and the page says why."""
    patient_id = subject_of(actor)
    async with transaction():
        cooling = await contact_changes.cooling_until(actor.clinic_id, patient_id, cooling_days)
        sections = await gather(actor.clinic_id, patient_id, withheld=cooling is not None)
        await audit.record(actor, "privacy.data_viewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"clinical_withheld": cooling is not None})
    if child := await acting_for(actor):
        for section in sections:
            if section["category"].name in FOR_CHILD:
                section["title"] = gettext(FOR_CHILD[section["category"].name], name=child)
    return {"patient": await patient_header(actor.clinic_id, patient_id), "sections": sections,
            "cooling_until": cooling, "withheld": [c.title for c in all_categories() if c.clinical and cooling]}


async def consent_page(actor: Actor) -> dict:
    patient_id = subject_of(actor)
    ledger = await consents.ledger(patient_id)
    return {"current": await consents.current(patient_id), "labels": consents.LABELS,
            "ledger": list(reversed(ledger)), "patient": await patient_header(actor.clinic_id, patient_id)}


async def set_consent(actor: Actor, kind: str, granted: bool) -> None:
    """A toggle that takes effect at once; the ledger row names the patient or guardian and the notice version."""
    patient_id = subject_of(actor)
    try:
        consent_kind = ConsentKind(kind)
    except ValueError:
        raise NotFound() from None
    async with transaction():
        await consents.record_change(actor, actor.clinic_id, patient_id, ConsentChange(
            consent_kind, granted, "privacy_centre", await notice.version_label(actor.clinic_id)))


async def honour_gpc(actor: Actor) -> datetime | None:
    """A browser sending `Sec-GPC: 1` objects to marketing (Art. 21(2)): recorded once in the consent ledger (marketing
    off, source "gpc"); returns when it was recorded, so every page can say so."""
    patient_id = subject_of(actor)
    kind = ConsentKind.MARKETING_EMAIL.value
    async with transaction():
        # one patient's signal at a time, so two tabs loading together record it once
        await Patient.raw("SELECT id FROM patient WHERE id = {} FOR UPDATE", patient_id)
        seen = await ConsentEvent.select(ConsentEvent.at).where(
            (ConsentEvent.patient == patient_id) & (ConsentEvent.kind == kind)
            & (ConsentEvent.source == "gpc")).order_by(ConsentEvent.id).first()
        if seen is not None:
            return seen["at"]
        await consents.record_change(actor, actor.clinic_id, patient_id, ConsentChange(
            ConsentKind.MARKETING_EMAIL, False, "gpc", await notice.version_label(actor.clinic_id)),
            even_if_same=True)
        return (await ConsentEvent.select(ConsentEvent.at).where(
            (ConsentEvent.patient == patient_id) & (ConsentEvent.source == "gpc")).first())["at"]


@dataclass(frozen=True)
class ContactForm:
    email: str = ""
    phone_mobile: str = ""
    phone_other: str = ""
    address: str = ""
    preferred_language: str = "en"


async def contact_form(actor: Actor) -> ContactForm:
    patient_id = subject_of(actor)
    row = await Patient.select(Patient.email, Patient.phone_mobile, Patient.phone_other, Patient.address,
                               Patient.preferred_language).where(Patient.id == patient_id).first()
    return ContactForm(**row)


async def change_contact(actor: Actor, form: ContactForm) -> list[str]:
    """Contact details the patient may change directly (no request needed); returns the changed fields. A new
    email or mobile number waits until its holder confirms it (portal/contacts), like a change made by staff."""
    patient_id = subject_of(actor)
    values = patient_fields.clean({name: getattr(form, name) for name in ContactForm.__dataclass_fields__},
                                  actor.country)
    addresses = {name: values.pop(name) for name in ("email", "phone_mobile")}
    async with transaction():
        before = await Patient.select(*[getattr(Patient, k) for k in values]).where(Patient.id == patient_id).first()
        changed = sorted(k for k, v in values.items() if before[k] != v)
        await Patient.update({**{getattr(Patient, k): v for k, v in values.items()},
                              Patient.updated_at: datetime.now(timezone.utc)}).where(Patient.id == patient_id)
        await audit.record(actor, "privacy.contact_changed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"changed": changed})
        for name, channel in (("email", "email"), ("phone_mobile", "phone")):
            if await contact_changes.propose(actor, actor.clinic_id, contact_changes.Holder(patient_id), channel,
                                             addresses[name], "privacy_centre"):
                changed.append(name)
    return changed
