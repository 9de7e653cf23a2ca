"""The clinic's register of processors (hosting, mail, SMS, lab …): the recipients shown for each category."""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, display
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import Processor

KINDS = {"hosting": lazy_gettext("Hosting and backups"), "mail": lazy_gettext("Email delivery"),
         "sms": lazy_gettext("SMS and WhatsApp delivery"),
         "lab": lazy_gettext("Dental laboratory"), "imaging": lazy_gettext("Imaging and radiology"),
         "accounting": lazy_gettext("Billing and accounting"),
         "voice": lazy_gettext("Telephony (calls and their recordings)"), "other": lazy_gettext("Other")}
display.register_labels("processor_kind", KINDS)


@dataclass(frozen=True)
class ProcessorForm:
    name: str = ""
    kind: str = "hosting"
    purpose: str = ""
    location: str = ""
    safeguards: str = ""
    notice_email: str = ""  # where Art. 19 notices go (optional)


async def list_processors(clinic_id: int) -> list[dict]:
    """Every processor of a clinic (what patients see as recipients; not personal data)."""
    return await Processor.select().where(Processor.clinic == clinic_id).order_by(Processor.kind, Processor.name)


async def add_processor(actor: Actor, form: ProcessorForm) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    errors = collect(name=required(form.name, "Name") or too_long(form.name, 200),
                     kind=None if form.kind in KINDS else gettext("Choose a kind."),
                     purpose=too_long(form.purpose, 500), location=too_long(form.location, 200),
                     safeguards=too_long(form.safeguards, 500),
                     notice_email=email_problem(form.notice_email, optional=True))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        row = Processor(clinic=actor.clinic_id, name=form.name.strip(), kind=form.kind, purpose=form.purpose.strip(),
                        location=form.location.strip(), safeguards=form.safeguards.strip(),
                        notice_email=form.notice_email.strip().lower(),
                        created_at=datetime.now(timezone.utc))
        await row.save()
        await audit.record(actor, "privacy.processor_added", object_type="processor", object_id=row.id)
    return row.id


async def remove_processor(actor: Actor, processor_id: int) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        gone = await Processor.delete().where((Processor.id == processor_id)
                                              & (Processor.clinic == actor.clinic_id)).returning(Processor.id)
        if not gone:
            raise NotFound()
        await audit.record(actor, "privacy.processor_removed", object_type="processor", object_id=processor_id)


def recipients_for(kinds: tuple[str, ...], processors: list[dict]) -> list[str]:
    """Names of the clinic's processors of the kinds a category goes to (or the kinds, if none registered)."""
    names = [f'{p["name"]} ({KINDS.get(p["kind"], p["kind"]).lower()})' for p in processors if p["kind"] in kinds]
    return names or [str(KINDS.get(k, k)) for k in kinds]
