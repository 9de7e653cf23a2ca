"""Marketing mail: only to patients with marketing consent, each with a one-click unsubscribe (RFC 8058).

The unsubscribe link carries a token signed with the secret key (clinic and patient id, HMAC-SHA256), so the
POST needs no session and no CSRF token: the signature is its authentication. Unsubscribing writes the
consent ledger like any other withdrawal.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from portal import audit, consents, i18n, links
from portal.consents import ConsentChange, ConsentKind
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import whole_number
from portal.i18n import gettext
from portal.messaging import outbox
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Patient


def _signature(secret: str, clinic_id: int, patient_id: int) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{clinic_id}:{patient_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unsubscribe_token(secret: str, clinic_id: int, patient_id: int) -> str:
    return f"{clinic_id}.{patient_id}.{_signature(secret, clinic_id, patient_id)}"


def read_token(secret: str, token: str) -> tuple[int, int]:
    """(clinic id, patient id) of a genuine token; NotFound for anything else (constant-time compare)."""
    parts = token.split(".")
    ids = [whole_number(part) for part in parts[:2]] if len(parts) == 3 else []
    if len(ids) != 2 or None in ids:  # "²" is a digit to str.isdigit but no number to int()
        raise NotFound()
    clinic_id, patient_id = ids
    if not hmac.compare_digest(parts[2], _signature(secret, clinic_id, patient_id)):
        raise NotFound()
    return clinic_id, patient_id


async def queue_marketing(actor: Actor, settings: Settings, patient_id: int, *, campaign: str, subject: str,
                          text: str, html: str = "") -> bool:
    """Queue one marketing message; False (nothing queued) without marketing consent or an address."""
    require(actor, Permission.MANAGE_CLINIC)
    patient = await Patient.select(Patient.id, Patient.email, Patient.preferred_language, Patient.clinic.locale).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    if patient is None:
        raise NotFound()
    if not patient["email"] or not await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL):
        return False
    token = unsubscribe_token(settings.secret_key, actor.clinic_id, patient_id)
    link = links.absolute_url(settings, f"/unsubscribe/{token}")
    with i18n.using(i18n.choose(patient["preferred_language"], patient["clinic.locale"])):  # the footer: theirs
        sender = i18n.gettext("Sent by %(clinic)s because you agreed to news and offers by email.",
                              clinic=actor.clinic_name)
        footer = sender + "\n" + i18n.gettext("Unsubscribe: %(link)s", link=link)
    email = outbox.Email(to=patient["email"], subject=subject, text=f"{text}\n\n{footer}\n",
                         html=html, headers={"List-Unsubscribe": f"<{link}>",
                                             "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    async with transaction():
        queued = await outbox.enqueue(email, key=f"marketing:{campaign}:{patient_id}", clinic_id=actor.clinic_id,
                                      patient_id=patient_id, guard_consent=ConsentKind.MARKETING_EMAIL.value)
        if queued:
            await audit.record(actor, "marketing.queued", patient_id=patient_id, object_type="campaign",
                               object_id=campaign)
    return queued


async def unsubscribe(settings: Settings, token: str) -> None:
    """The one-click POST: withdraw marketing consent in the ledger (idempotent)."""
    clinic_id, patient_id = read_token(settings.secret_key, token)
    async with transaction():
        await consents.record_change(None, clinic_id, patient_id,
                                     ConsentChange(ConsentKind.MARKETING_EMAIL, False, "unsubscribe_link"),
                                     actor_kind="unsubscribe")


@dataclass(frozen=True)
class CampaignForm:
    name: str = ""
    subject: str = ""
    text: str = ""


async def send_campaign(actor: Actor, settings: Settings, form: CampaignForm) -> int:
    """Queue one message per patient who agreed to news by email; returns how many were queued."""
    require(actor, Permission.MANAGE_CLINIC)
    errors = {}
    name = "".join(ch for ch in form.name.strip().lower().replace(" ", "-") if ch.isalnum() or ch == "-")[:60]
    if not name:
        errors["name"] = gettext("Name the campaign (letters and digits), e.g. spring-2027.")
    if not form.subject.strip() or len(form.subject) > 200:
        errors["subject"] = gettext("Write a subject of at most 200 characters.")
    if not form.text.strip() or len(form.text) > 20000:
        errors["text"] = gettext("Write the message (at most 20,000 characters).")
    if errors:
        raise ValidationFailed(errors)
    rows = await Patient.raw(
        "SELECT id FROM patient WHERE clinic = {} AND email <> '' AND chairside_may_contact(id, 'marketing_email') "
        "ORDER BY id", actor.clinic_id)
    queued = 0
    for row in rows:
        queued += await queue_marketing(actor, settings, row["id"], campaign=name, subject=form.subject.strip(),
                                        text=form.text.strip())
    async with transaction():
        await audit.record(actor, "marketing.campaign", object_type="campaign", object_id=name,
                           detail={"queued": queued})
    return queued
