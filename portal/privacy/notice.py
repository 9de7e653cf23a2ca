"""The clinic's privacy notice: versioned; publishing a material change mails every patient with an email."""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, i18n
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import gettext
from portal.messaging import outbox
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic, Patient, PrivacyNotice

DEFAULT_TEXT = ("{clinic} is the controller of the personal data in your dental record. We use it to treat you, "
                "to plan your visits and to meet our legal duties. You may see, download, correct and ask us to "
                "erase your data, restrict or object to its use, and change your consents at any time in the "
                "privacy centre.")


@dataclass(frozen=True)
class NoticeForm:
    body: str = ""
    material: bool = False


async def current(clinic_id: int) -> dict | None:
    return await PrivacyNotice.select().where(PrivacyNotice.clinic == clinic_id).order_by(
        PrivacyNotice.version, ascending=False).first()


async def version_label(clinic_id: int) -> str:
    """The version in force, as stored with each consent change ("" before the first is published)."""
    row = await current(clinic_id)
    return f'v{row["version"]}' if row else ""


async def history(actor: Actor) -> list[dict]:
    require(actor, Permission.MANAGE_CLINIC)
    return await PrivacyNotice.select().where(PrivacyNotice.clinic == actor.clinic_id).order_by(
        PrivacyNotice.version, ascending=False)


async def publish(actor: Actor, form: NoticeForm) -> int:
    """A new version; a material change queues one mail per patient with an address (same transaction)."""
    require(actor, Permission.MANAGE_CLINIC)
    errors = collect(body=required(form.body, gettext("The notice")) or too_long(form.body, 50_000))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await PrivacyNotice.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"notice:{actor.clinic_id}")
        latest = await current(actor.clinic_id)
        version = (latest["version"] if latest else 0) + 1
        await PrivacyNotice.insert(PrivacyNotice(clinic=actor.clinic_id, version=version, body=form.body.strip(),
                                                 material=form.material, published_by=actor.id,
                                                 published_at=datetime.now(timezone.utc)))
        mailed = 0
        if form.material:
            clinic = await Clinic.select(Clinic.locale).where(Clinic.id == actor.clinic_id).first()
            patients = await Patient.select(Patient.id, Patient.email, Patient.preferred_language).where(
                (Patient.clinic == actor.clinic_id) & (Patient.email != "") & Patient.isolated_at.is_null())
            for p in patients:
                with i18n.using(i18n.choose(p["preferred_language"], clinic["locale"])):
                    subject = gettext("%(clinic)s has updated its privacy notice", clinic=actor.clinic_name)
                    text = gettext("We have changed how we handle your personal data (version %(version)s). Read "
                                   "the new notice in our privacy centre.", version=version)
                await outbox.enqueue(outbox.Email(
                    to=p["email"], subject=subject, text=f"{text}\n\n{form.body.strip()}"),
                    key=f"notice:{actor.clinic_id}:{version}:{p['id']}", clinic_id=actor.clinic_id,
                    patient_id=p["id"])
                mailed += 1
        await audit.record(actor, "privacy.notice_published", object_type="privacy_notice", object_id=version,
                           detail={"material": form.material, "mailed": mailed})
    return version
