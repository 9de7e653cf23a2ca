"""The chart page: the patient header with alerts, the tooth chart and the latest of everything else.

Everything else has its own page; here only a bounded slice is read, so a patient with ten years of
history opens as fast as a new one.
"""

import asyncio
from datetime import date

from portal import audit
from portal.charts import clinical_notes, medical_history, odontogram, tooth_chart_svg, treatment_plans
from portal.errors import NotFound
from portal.imaging import images as imaging
from portal.patients import age_on
from portal.permissions import Actor, Permission, can, require
from portal.tables import Clinic, Patient

RECENT_NOTES = 5


async def header(actor: Actor, patient_id: int) -> dict:
    """Name, age and active alerts: what every chart page shows on top (front desk may read it). One statement:
    the patient (this clinic's, not isolated), the clinic's tooth numbering and the alerts."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    rows = await Patient.raw(
        "SELECT p.id, p.given_name, p.family_name, p.date_of_birth, p.restricted_at, p.objected_at, "
        f"c.tooth_numbering, {medical_history.ACTIVE_ALERTS} AS alerts FROM patient p JOIN clinic c "
        "ON c.id = p.clinic WHERE p.id = {} AND p.clinic = {} AND p.isolated_at IS NULL",
        patient_id, actor.clinic_id, patient_id, actor.clinic_id)
    if not rows:
        raise NotFound()
    patient = rows[0]
    patient["age"] = age_on(patient["date_of_birth"], date.today())
    patient["alerts"] = medical_history.alerts_shown(patient["alerts"])
    return patient


async def numbering(clinic_id: int) -> str:
    return (await Clinic.select(Clinic.tooth_numbering).where(Clinic.id == clinic_id).first())["tooth_numbering"]


async def tooth_chart(actor: Actor, patient_id: int, header_read: dict | None = None
                      ) -> tooth_chart_svg.ChartDrawing:
    """The SVG drawing, in the clinic's numbering. `header_read`: this patient's `header`, just read (it checked
    the patient and carries the numbering); without it the chart's read checks the patient and brings the
    numbering itself. Either way one round trip for the drawing's input, one for its audit row."""
    require(actor, Permission.READ_CLINICAL)
    checked = header_read is not None and header_read["id"] == patient_id
    read = await odontogram.read_chart(actor, patient_id, patient_checked=checked)
    return tooth_chart_svg.drawing(read.state, header_read["tooth_numbering"] if checked else read.numbering)


async def chart_page(actor: Actor, patient_id: int) -> dict:
    """The chart overview. Once the header has checked the patient (this clinic's, not isolated), the drawing,
    plans, latest notes and images are independent reads: they go out at once, each on its own pooled connection,
    so this runs outside a transaction (the views call it so). Each is audited; their rows go in one statement."""
    require(actor, Permission.READ_CLINICAL)
    patient = await header(actor, patient_id)
    async with audit.together():
        drawing, plans, (notes, more_notes), (image_count, images) = await asyncio.gather(
            tooth_chart(actor, patient_id, patient),
            treatment_plans.list_plans(actor, patient_id, patient_checked=True),
            clinical_notes.recent_notes(actor, patient_id, RECENT_NOTES),
            imaging.recent_images(actor, patient_id) if can(actor, Permission.READ_IMAGES) else _no_images())
    return {"patient": patient, "chart": drawing, "plans": plans, "notes": notes, "more_notes": more_notes,
            "image_count": image_count, "images": images}


async def _no_images() -> tuple[int, list]:
    return 0, []
