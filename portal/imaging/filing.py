"""Filing corrections: a wrongly filed image is re-labelled, or withdrawn (kept and audited, hidden from the chart,
shown to the patient's access page as withdrawn, erased by retention like every other image)."""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import _
from portal.imaging import images
from portal.permissions import Actor, Permission, require
from portal.tables import PatientImage

LABELS = ("kind", "taken_on", "teeth", "caption")


@dataclass(frozen=True)
class RelabelForm:
    kind: str = ""
    taken_on: str = ""
    teeth: str = ""
    caption: str = ""
    reason: str = ""


@dataclass(frozen=True)
class WithdrawForm:
    reason: str = ""


def _reason_problem(reason: str) -> str | None:
    return required(reason, _("Reason")) or too_long(reason, 300)


async def _filed(actor: Actor, patient_id: int, image_id: int) -> dict:
    """The image as filed now; a withdrawn one is no longer corrected (it stays as it was withdrawn)."""
    row = await PatientImage.select(PatientImage.id, PatientImage.format, *[getattr(PatientImage, f) for f in LABELS]
                                    ).where((PatientImage.id == image_id) & (PatientImage.patient == patient_id)
                                            & (PatientImage.clinic == actor.clinic_id)
                                            & PatientImage.withdrawn_at.is_null()).first()
    if row is None:
        raise NotFound()
    return row


def _plain(values: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


async def relabel(actor: Actor, patient_id: int, image_id: int, form: RelabelForm) -> None:
    """Correct kind, date, teeth and caption; the audit row keeps what they were, what they became and why."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        before = await _filed(actor, patient_id, image_id)
        errors: dict[str, str] = {}
        try:
            fields = images.clean_labels(images.UploadForm(kind=form.kind, taken_on=form.taken_on, teeth=form.teeth,
                                                           caption=form.caption))
        except ValidationFailed as exc:
            errors, fields = dict(exc.errors), {}
        if "kind" not in errors:
            kind, problem = images.kind_for(before["format"], form.kind)
            if problem or not form.kind:
                errors["kind"] = _("This file %(problem)s.", problem=problem) if problem else _("Choose from the list.")
            fields["kind"] = kind
        if "taken_on" not in errors and fields.get("taken_on") is None:
            errors["taken_on"] = _("Enter a real date, e.g. 2026-11-24.")
        errors.update(collect(reason=_reason_problem(form.reason)))
        if errors:
            raise ValidationFailed(errors)
        changed = {k: fields[k] for k in LABELS if fields[k] != before[k]}
        if not changed:
            raise ValidationFailed({"form": _("Nothing changed.")})
        await PatientImage.update({getattr(PatientImage, k): v for k, v in changed.items()}).where(
            PatientImage.id == image_id)
        await audit.record(actor, "image.relabelled", patient_id=patient_id, object_type="image", object_id=image_id,
                           detail={"before": _plain({k: before[k] for k in changed}), "after": _plain(changed),
                                   "reason": form.reason.strip()})


async def withdraw(actor: Actor, patient_id: int, image_id: int, form: WithdrawForm) -> None:
    """Take a wrongly filed image off the chart. It is kept (the record of what was filed stays), with who, when
    and why; the patient's access page lists it as withdrawn."""
    require(actor, Permission.WRITE_CLINICAL)
    errors = collect(reason=_reason_problem(form.reason))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await _filed(actor, patient_id, image_id)
        await PatientImage.update({PatientImage.withdrawn_at: datetime.now(timezone.utc),
                                   PatientImage.withdrawn_by: actor.id,
                                   PatientImage.withdrawn_reason: form.reason.strip()}).where(
            PatientImage.id == image_id)
        await audit.record(actor, "image.withdrawn", patient_id=patient_id, object_type="image", object_id=image_id,
                           detail={"reason": form.reason.strip()})
