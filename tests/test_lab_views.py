"""The lab and prescription pages: forms keep what was typed on refusal, the front desk sees dates not clinical
content, the dashboard and the appointment card warn about late lab work."""

from datetime import date

from portal.charts import medical_history
from portal.lab import cases
from portal.permissions import Role
from portal.tables import LabCase, Prescription
from tests import factories
from tests.factories import post_form, sign_in_as


async def test_a_dentist_creates_a_case_and_a_refusal_keeps_what_was_typed(client, clinic, cal):
    records = await factories.make_lab_records(clinic, cal["dentist"], await factories.make_patient(clinic))
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, cal["dentist"])
    page = await client.get(f"/patients/{patient_id}/lab-cases/new")
    assert page.status_code == 200 and "Kroon Lab" in page.text
    refused = await post_form(client, f"/patients/{patient_id}/lab-cases/",
                              {"lab_id": str(records["lab_id"]), "teeth": "36", "shade": "A3.5 typed"})
    assert refused.status_code == 422 and 'value="A3.5 typed"' in refused.text and 'id="e-items"' in refused.text
    assert await LabCase.count().where(LabCase.patient == patient_id) == 0
    created = await client.post(f"/patients/{patient_id}/lab-cases/", data={
        "_csrf_token": client.cookies["csrftoken"], "lab_id": str(records["lab_id"]), "items": ["crown", "inlay"],
        "teeth": "36", "shade": "A2"})
    assert created.status_code == 303
    page = await client.get(created.headers["location"])
    assert "Crown, Inlay" in page.text and 'id="case-shade">A2<' in page.text


async def test_the_front_desk_sees_status_and_dates_not_the_clinical_content(client, clinic, cal):
    patient_id = await factories.make_patient(clinic)
    records = await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    page = await client.get(f"/patients/{patient_id}/lab-cases/{records['case_id']}")
    assert page.status_code == 200 and "case-status" in page.text and "case-shade" not in page.text
    assert "slip.pdf" not in page.text
    assert (await client.get(f"/patients/{patient_id}/lab-cases/{records['case_id']}/slip.pdf")).status_code == 403
    refused = await post_form(client, f"/patients/{patient_id}/lab-cases/{records['case_id']}/status",
                              {"status": "checked"})
    assert refused.status_code == 403
    assert (await post_form(client, f"/patients/{patient_id}/lab-cases/{records['case_id']}/invoices",
                            {"amount": "abc"})).status_code == 422


async def test_late_work_shows_on_the_dashboard_and_the_card_until_received(client, clinic, cal):
    patient_id = await factories.make_patient(clinic, given_name="Lotte")
    records = await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    seating = await factories.book(clinic, cal, patient_id, cases.add_working_days(date.today(), 2).isoformat(),
                                   "10:00")
    await LabCase.update({LabCase.seating_appointment: seating}).where(LabCase.id == records["case_id"])
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    assert 'id="lab-late"' in (await client.get("/dashboard/figures")).text
    card = await client.get(f"/calendar/appointments/{seating}", headers={"HX-Request": "true"})
    assert 'id="lab-late"' in card.text
    await cases.change_status(cal["dentist"], patient_id, records["case_id"], cases.StatusForm(status="sent"),
                              _sending=True)
    assert (await post_form(client, f"/patients/{patient_id}/lab-cases/{records['case_id']}/status",
                            {"status": "received"})).status_code == 303
    assert 'id="lab-late"' not in (await client.get("/dashboard/figures")).text
    card = await client.get(f"/calendar/appointments/{seating}", headers={"HX-Request": "true"})
    assert 'id="lab-late"' not in card.text


async def test_a_prescription_with_a_warning_needs_confirmation_then_is_signed_and_mailed(client, clinic, cal):
    patient_id = await factories.make_patient(clinic)
    await medical_history.save_history(cal["dentist"], patient_id, medical_history.HistoryForm(
        medications="warfarin"))
    await sign_in_as(client, cal["dentist"])
    form = {"medicine": "Ibuprofen", "strength": "400 mg", "dose": "1 tablet 3× daily", "quantity": "10 tablets",
            "repeats": "0"}
    refused = await post_form(client, f"/patients/{patient_id}/prescriptions/", form)
    assert refused.status_code == 422 and "anticoagulant" in refused.text and 'value="10 tablets"' in refused.text
    assert await Prescription.count() == 0
    signed = await post_form(client, f"/patients/{patient_id}/prescriptions/", {**form, "acknowledged": "on"})
    assert signed.status_code == 303
    prescription = await Prescription.select(Prescription.id).first()
    pdf = await client.get(f"/patients/{patient_id}/prescriptions/{prescription['id']}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    bad = await post_form(client, f"/patients/{patient_id}/prescriptions/{prescription['id']}/mail", {"to": "x"})
    assert bad.status_code == 422 and 'value="x"' in bad.text
    mailed = await post_form(client, f"/patients/{patient_id}/prescriptions/{prescription['id']}/mail",
                             {"to": "apotheek@example.org"})
    assert mailed.status_code == 303
