"""The clinic's privacy notice: versioned (version 1, the default text, exists from the clinic's first moment);
publishing a material change mails every patient with an email a link to the new version and what changed;
every version stays readable on the public page."""

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, i18n
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import _, gettext
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


def changes(before: str, after: str) -> list[dict]:
    """What changed between two versions, sentence by sentence: removed and added text, in order."""
    def sentences(text: str) -> list[str]:
        return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if s.strip()]
    found = []
    for line in difflib.ndiff(sentences(before), sentences(after)):
        if line[:2] in ("- ", "+ "):
            found.append({"added": line[0] == "+", "text": line[2:]})
    return found


async def public(clinic_id: int, version: int | None = None) -> dict:
    """The public page of a clinic's notice: the version asked for (else the newest), every version, and what the
    shown one changed from the one before. Not personal data: no audit."""
    clinic = await Clinic.select(Clinic.id, Clinic.name).where(Clinic.id == clinic_id).first()
    versions = await PrivacyNotice.select().where(PrivacyNotice.clinic == clinic_id).order_by(
        PrivacyNotice.version, ascending=False) if clinic else []
    by_version = {v["version"]: v for v in versions}
    shown = by_version.get(version) if version is not None else (versions[0] if versions else None)
    if shown is None:
        raise NotFound()
    previous = by_version.get(shown["version"] - 1)
    return {"clinic": clinic, "versions": versions, "shown": shown, "current": versions[0], "previous": previous,
            "changes": changes(previous["body"], shown["body"]) if previous else []}


async def publish(actor: Actor, form: NoticeForm, link: str = "") -> int:
    """A new version; a material change queues one mail per patient with an address (same transaction), with
    `link` (the public page; the view builds it on the public URL) followed by `?version=N`."""
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
                    versioned = f"{link}?version={version}"
                    more = "\n\n" + _("The new version and what changed: %(link)s", link=versioned) if link else ""
                await outbox.enqueue(outbox.Email(
                    to=p["email"], subject=subject, text=f"{text}\n\n{form.body.strip()}" + more),
                    key=f"notice:{actor.clinic_id}:{version}:{p['id']}", clinic_id=actor.clinic_id,
                    patient_id=p["id"])
                mailed += 1
        await audit.record(actor, "privacy.notice_published", object_type="privacy_notice", object_id=version,
                           detail={"material": form.material, "mailed": mailed})
    return version
