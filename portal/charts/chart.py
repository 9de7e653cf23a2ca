"""The chart page: the patient header with alerts, the tooth chart and the latest of everything else.

Everything else has its own page; here only a bounded slice is read, so a patient with ten years of
history opens as fast as a new one.
"""

from datetime import date

from portal.charts import clinical_notes, medical_history, odontogram, tooth_chart_svg, treatment_plans
from portal.db import transaction
from portal.errors import NotFound
from portal.imaging import images as imaging
from portal.patients import age_on
from portal.permissions import Actor, Permission, can, require
from portal.tables import Clinic, Patient

RECENT_NOTES = 5


async def header(actor: Actor, patient_id: int) -> dict:
    """Name, age and active alerts: what every chart page shows on top (front desk may read it)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    patient = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.date_of_birth,
                                   Patient.restricted_at, Patient.objected_at,
                                   Patient.clinic.tooth_numbering.as_alias("tooth_numbering")).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if patient is None:
        raise NotFound()
    patient["age"] = age_on(patient["date_of_birth"], date.today())
    patient["alerts"] = await medical_history.active_alerts(actor, patient_id)
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
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        patient = await header(actor, patient_id)
        page = {"patient": patient, "chart": await tooth_chart(actor, patient_id, patient)}
        # The header has checked the patient (this clinic's, not isolated) in this transaction.
        page["plans"] = await treatment_plans.list_plans(actor, patient_id, patient_checked=True)
        page["notes"], page["more_notes"] = await clinical_notes.list_notes(actor, patient_id, limit=RECENT_NOTES,
                                                                            patient_checked=True)
        page["image_count"], page["images"] = (await imaging.recent_images(actor, patient_id)
                                               if can(actor, Permission.READ_IMAGES) else (0, []))
    return page
