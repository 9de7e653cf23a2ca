"""Sending a form to a patient (a signed, expiring link by mail through the outbox) and the patient filling and
signing it on the signed-out page.

The link carries a random secret; only its SHA-256 is stored, so the database alone cannot open a form. A link
works until it expires or the form is signed, whichever comes first.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, i18n, links
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import gettext as _
from portal.messaging import outbox
from portal.patient_forms import catalogue, documents, signatures
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, Patient, SentForm

LINK_DAYS = 7
PATH = "/form"


@dataclass(frozen=True)
class SendForm:
    kind: str = ""
    procedure: str = ""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def send(actor: Actor, settings: Settings, patient_id: int, form: SendForm) -> int:
    """Create the form from the clinic's template and mail the patient its link; returns the form's id."""
    require(actor, Permission.WRITE_CLINICAL)
    patient = await Patient.select(Patient.id, Patient.email, Patient.given_name, Patient.preferred_language).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if patient is None:
        raise NotFound()
    chosen = next((t for t in await catalogue.templates(actor) if t["kind"] == form.kind), None)
    errors = {}
    if chosen is None:
        errors["kind"] = _("Choose one of the listed forms.")
    elif chosen["kind"] == "consent" and not form.procedure.strip():
        errors["procedure"] = _("Name the treatment the patient consents to.")
    elif len(form.procedure) > 1000:
        errors["procedure"] = _("Keep this under 1000 characters.")
    if not patient["email"]:
        errors["kind"] = _("This patient has no email address: add one first.")
    if errors:
        raise ValidationFailed(errors)
    language = i18n.choose(patient["preferred_language"], actor.language)
    intro = chosen["intro"] + (f"\n\n{form.procedure.strip()}" if form.procedure.strip() else "")
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    clinic = await Clinic.select(Clinic.name).where(Clinic.id == actor.clinic_id).first()
    async with transaction():
        rows = await SentForm.raw(
            "INSERT INTO patient_form (clinic, patient, template, kind, title, intro, fields, language, token_hash, "
            "expires_at, sent_by, sent_by_name, sent_at) VALUES ({}, {}, {}, {}, {}, {}, {}::jsonb, {}, {}, {}, {}, "
            "{}, {}) RETURNING id", actor.clinic_id, patient_id, chosen["id"], chosen["kind"], chosen["title"], intro,
            json.dumps(chosen["fields"]), language, _hash(token), now + timedelta(days=LINK_DAYS), actor.id,
            actor.name, now)
        form_id = rows[0]["id"]
        link = links.absolute_url(settings, f"{PATH}/{token}")
        with i18n.using(language):
            title = _(chosen["title"])
            email = outbox.Email(
                to=patient["email"], subject=_("%(clinic)s: %(form)s", clinic=clinic["name"], form=title),
                text=_("Dear %(name)s,\n\nPlease fill in and sign this form before your visit:\n%(link)s\n\n"
                       "The link works for %(days)s days.\n\n%(clinic)s\n", name=patient["given_name"], link=link,
                       days=LINK_DAYS, clinic=clinic["name"]))
        await outbox.enqueue(email, key=f"patient_form:{form_id}", clinic_id=actor.clinic_id, patient_id=patient_id)
        await audit.record(actor, "patient_form.sent", patient_id=patient_id, object_type="patient_form",
                           object_id=form_id, detail={"kind": chosen["kind"]})
    return form_id


async def open_link(token: str) -> dict:
    """The form a live link opens (with the clinic's name); NotFound for an unknown, used or expired link."""
    row = await SentForm.select(
        SentForm.id, SentForm.clinic, SentForm.patient, SentForm.kind, SentForm.title, SentForm.intro,
        SentForm.fields, SentForm.language, SentForm.expires_at, SentForm.clinic.name.as_alias("clinic_name"),
        SentForm.clinic.country.as_alias("country")).where(
        (SentForm.token_hash == _hash(token)) & SentForm.submitted_at.is_null()
        & (SentForm.expires_at > datetime.now(timezone.utc))).first()
    if row is None:
        raise NotFound()
    return catalogue.loaded(row)


async def submit(token: str, typed: dict[str, str], signer_name: str, strokes_json: str) -> int:
    """Store the answers and the signature (drawn strokes, or the typed name), render the signed PDF and hash."""
    form = await open_link(token)
    errors = {}
    try:
        answers = catalogue.check_answers(form["fields"], typed, form["country"])
    except ValidationFailed as failed:
        errors.update(failed.errors)
        answers = {}
    signer_name = signer_name.strip()
    if not signer_name:
        errors["signer_name"] = _("Type your full name to sign.")
    elif len(signer_name) > 200:
        errors["signer_name"] = _("Keep this under 200 characters.")
    try:
        strokes = signatures.read_strokes(strokes_json)
    except ValidationFailed as failed:
        errors.update(failed.errors)
        strokes = []
    if errors:
        raise ValidationFailed(errors)
    png = signatures.render_png(strokes, signer_name)
    sha = signatures.digest(form, answers, signer_name, strokes)
    now = datetime.now(timezone.utc)
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == form["patient"]).first()
    pdf = documents.signed_pdf(form, patient, answers, signer_name, "drawn" if strokes else "typed", png, sha, now)
    async with transaction():
        updated = await SentForm.update({
            SentForm.submitted_at: now, SentForm.answers: json.dumps(answers), SentForm.signer_name: signer_name,
            SentForm.signature_method: "drawn" if strokes else "typed", SentForm.signature_strokes: json.dumps(strokes),
            SentForm.signature_png: png, SentForm.signed_sha256: sha, SentForm.pdf: pdf,
        }).where((SentForm.id == form["id"]) & SentForm.submitted_at.is_null()).returning(SentForm.id)
        if not updated:  # signed in another tab a moment ago
            raise NotFound()
        await audit.record(None, "patient_form.signed", patient_id=form["patient"], clinic_id=form["clinic"],
                           object_type="patient_form", object_id=form["id"], detail={"sha256": sha})
    return form["id"]


async def template_titles(actor: Actor) -> dict[str, str]:
    return {row["kind"]: row["title"] for row in await catalogue.templates(actor)}

