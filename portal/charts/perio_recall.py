"""A perio diagnosis and the recall: once a signed exam confirms a stage, the clinician is offered (one tap) to move
the patient to the clinic's perio maintenance recall type (portal/recall/due.py does the move)."""

from portal import clock
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _
from portal.permissions import Actor, Permission, can, require
from portal.recall import due as recall_due
from portal.recall import recall_types
from portal.tables import PatientRecall, PerioExam

DIAGNOSED = ("I", "II", "III", "IV")  # a confirmed periodontitis stage ("none" is no diagnosis)


async def _signed_exam(actor: Actor, patient_id: int, exam_id: int) -> dict:
    exam = await PerioExam.select(PerioExam.id, PerioExam.signed_at, PerioExam.stage, PerioExam.grade).where(
        (PerioExam.id == exam_id) & (PerioExam.patient == patient_id) & (PerioExam.clinic == actor.clinic_id)).first()
    if exam is None:
        raise NotFound()
    return exam


async def offer(actor: Actor, patient_id: int, exam: dict) -> dict | None:
    """What the exam page offers: the perio type to move to, when the exam is signed with a stage, the reader may
    write clinical records, the clinic keeps the type and the patient is not on it yet; else None."""
    if not (exam.get("signed_at") and exam.get("stage") in DIAGNOSED and can(actor, Permission.WRITE_CLINICAL)):
        return None
    kind = await recall_types.perio_type(actor.clinic_id)  # read once (was once more inside recall_due.on_perio)
    if kind is None or await PatientRecall.exists().where((PatientRecall.clinic == actor.clinic_id)
                                                          & (PatientRecall.patient == patient_id)
                                                          & (PatientRecall.recall_type == kind["id"])):
        return None
    return kind


async def move_to_perio_recall(actor: Actor, patient_id: int, exam_id: int) -> dict:
    """The one tap: the patient's recall becomes the perio maintenance type, due its interval from today."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        exam = await _signed_exam(actor, patient_id, exam_id)
        if exam["signed_at"] is None or exam["stage"] not in DIAGNOSED:
            raise ValidationFailed({"form": _("Only a signed exam with a periodontitis stage moves the recall.")})
        return await recall_due.switch_to_perio(actor, patient_id, clock.today(actor.time_zone),
                                                {"exam": exam_id, "stage": exam["stage"], "grade": exam["grade"]})
