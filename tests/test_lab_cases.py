"""Lab cases: the directory, statuses with their history, due dates against the seating, sending with the
disclosure recorded, what the front desk may see, and the lab's invoice."""

from datetime import date
from decimal import Decimal

import pytest

from portal.calendar import scheduling
from portal.errors import Forbidden, ValidationFailed
from portal.lab import cases, directory, sending
from portal.messaging import outbox
from portal.permissions import Role
from portal.privacy.lab_records import recipients_of
from portal.privacy.registry import CATEGORIES
from portal.tables import LabCaseEvent
from tests import factories, image_samples


async def _lab(owner, **overrides) -> int:
    values = {"name": "Kroon Lab", "email": "orders@kroonlab.test", "turnaround": "crown 7\nbridge 10",
              "prices": "crown 145.00", **overrides}
    return await directory.add_lab(owner, directory.LabForm(**values))


def _working_days_ahead(days: int) -> date:
    return cases.add_working_days(factories.clinic_today(), days)


async def _crown(dentist, patient_id, lab_id, appointment_id=None, **overrides) -> int:
    values = {"lab_id": str(lab_id), "items": "crown", "teeth": "36", "shade": "A2", "material": "zirconia",
              "appointment_id": str(appointment_id or ""), **overrides}
    return await cases.create_case(dentist, patient_id, cases.CaseForm(**values))


def test_due_dates_count_working_days():
    friday = date(2026, 11, 27)
    assert cases.add_working_days(friday, 1) == date(2026, 11, 30)
    assert cases.add_working_days(friday, 5) == date(2026, 12, 4)


async def test_the_directory_refuses_lines_it_cannot_read_and_keeps_turnaround_per_item(clinic):
    with pytest.raises(ValidationFailed) as refused:
        await _lab(clinic, turnaround="crown seven")
    assert "turnaround" in refused.value.errors
    lab = await directory.get_lab(clinic, await _lab(clinic))
    assert lab["turnaround"] == {"crown": 7, "bridge": 10} and lab["prices"] == {"crown": "145.00"}
    assert directory.turnaround_for(lab, ["crown", "bridge"]) == 10
    assert directory.turnaround_for(lab, ["night_guard"]) == directory.DEFAULT_TURNAROUND


async def test_a_case_late_for_its_seating_warns_until_it_is_back_and_moving_the_seating_rechecks(clinic, cal):
    dentist = cal["dentist"]
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Desk")
    patient_id = await factories.make_patient(clinic)
    seating = await factories.book(clinic, cal, patient_id, _working_days_ahead(3).isoformat(), "10:00")
    case_id = await _crown(dentist, patient_id, await _lab(clinic), seating)
    assert [c["id"] for c in await cases.late_cases(desk)] == [case_id]
    assert [c["id"] for c in await cases.late_for_appointment(desk, seating)] == [case_id]
    card = await scheduling.get_appointment(desk, seating)
    assert [c["id"] for c in card["lab_late"]] == [case_id]

    later = _working_days_ahead(12)
    await scheduling.move_appointment(clinic, seating, scheduling.MoveForm(
        date=later.isoformat(), time="10:00", chair_id=str(cal["chairs"][0]), provider_id=str(dentist.id),
        minutes="30"))
    assert await cases.late_cases(desk) == []
    await scheduling.move_appointment(clinic, seating, scheduling.MoveForm(
        date=_working_days_ahead(2).isoformat(), time="10:00", chair_id=str(cal["chairs"][0]),
        provider_id=str(dentist.id), minutes="30"))
    assert [c["id"] for c in await cases.late_cases(desk)] == [case_id]

    await cases.change_status(dentist, patient_id, case_id, cases.StatusForm(status="sent"), _sending=True)
    await cases.change_status(desk, patient_id, case_id, cases.StatusForm(status="shipped", carrier="DHL",
                                                                          tracking="JD0001"))
    await cases.change_status(desk, patient_id, case_id, cases.StatusForm(status="received"))
    assert await cases.late_cases(desk) == []
    history = await LabCaseEvent.select().where(LabCaseEvent.lab_case == case_id).order_by(LabCaseEvent.at)
    assert [(h["status"], h["by_name"]) for h in history] == [
        ("draft", "Dr. Dekker"), ("sent", "Dr. Dekker"), ("shipped", "Desk"), ("received", "Desk")]
    assert '"JD0001"' in str(history[2]["detail"]) or history[2]["detail"].get("tracking") == "JD0001"


async def test_only_allowed_steps_by_who_may_take_them(clinic, cal):
    dentist = cal["dentist"]
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Desk")
    patient_id = await factories.make_patient(clinic)
    case_id = await _crown(dentist, patient_id, await _lab(clinic))
    with pytest.raises(ValidationFailed):  # "sent" happens only by sending
        await cases.change_status(dentist, patient_id, case_id, cases.StatusForm(status="sent"))
    with pytest.raises(ValidationFailed):  # a draft cannot be received
        await cases.change_status(desk, patient_id, case_id, cases.StatusForm(status="received"))
    await cases.change_status(dentist, patient_id, case_id, cases.StatusForm(status="sent"), _sending=True)
    await cases.change_status(desk, patient_id, case_id, cases.StatusForm(status="received"))
    with pytest.raises(Forbidden):  # checking the work is clinical
        await cases.change_status(desk, patient_id, case_id, cases.StatusForm(status="checked"))
    with pytest.raises(ValidationFailed) as refused:
        await cases.change_status(dentist, patient_id, case_id, cases.StatusForm(status="remake"))
    assert "reason" in refused.value.errors
    await cases.change_status(dentist, patient_id, case_id, cases.StatusForm(status="remake", reason="Open margin"))
    case = await cases.get_case(dentist, patient_id, case_id)
    assert case["status"] == "remake" and case["remake_reason"] == "Open margin"
    assert case["steps"] == ["in_production", "shipped", "received"]
    with pytest.raises(Exception):  # the history is append-only in the database
        await LabCaseEvent.update({LabCaseEvent.by_name: "someone else"}).where(LabCaseEvent.lab_case == case_id)


async def test_a_case_refuses_another_patients_images_and_appointments(clinic, cal):
    patient_id = await factories.make_patient(clinic)
    other = await factories.make_patient(clinic)
    foreign_image = await image_samples.stored(clinic, other)
    foreign_visit = await factories.book(clinic, cal, other, _working_days_ahead(5).isoformat(), "11:00")
    with pytest.raises(ValidationFailed) as refused:
        await _crown(cal["dentist"], patient_id, await _lab(clinic), foreign_visit, image_ids=str(foreign_image),
                     teeth="99", items="")
    assert set(refused.value.errors) == {"image_ids", "appointment_id", "teeth", "items"}


async def test_sending_mails_slip_and_scan_records_the_disclosure_and_hides_history_unless_ticked(
        clinic, cal, settings, mailbox):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic, given_name="Mila", family_name="Visser")
    from portal.charts import medical_history

    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(allergies="latex"))
    scan = await image_samples.stored(dentist, patient_id, name="scan.stl", data=image_samples.stl_binary(),
                                      kind="scan")
    case_id = await _crown(dentist, patient_id, await _lab(clinic), image_ids=str(scan))
    await sending.send_case(dentist, patient_id, case_id)
    assert await outbox.deliver_due(settings) == 1
    [message] = mailbox.to("orders@kroonlab.test")
    names = [p.get_filename() for p in message.iter_attachments()]
    assert names[0] == f"lab-slip-{case_id}.pdf" and names[1].endswith(".stl")
    [recipient] = await recipients_of(patient_id)
    assert (recipient["recipient_name"], recipient["recipient_address"]) == ("Kroon Lab", "orders@kroonlab.test")
    [disclosed] = await CATEGORIES["disclosures"].collect(patient_id)
    assert "medical history" not in disclosed["data"] and f"image {scan}" in disclosed["data"]
    case = await cases.get_case(dentist, patient_id, case_id)
    assert case["status"] == "sent" and len(case["slip_sha256"]) == 64
    with pytest.raises(ValidationFailed):  # sent once
        await sending.send_case(dentist, patient_id, case_id)

    sharing = await _lab(clinic, name="Full Lab", email="full@lab.test", shares_history=True)
    second = await _crown(dentist, patient_id, sharing)
    await sending.send_case(dentist, patient_id, second)
    rows = await CATEGORIES["disclosures"].collect(patient_id)
    assert "medical history" in rows[-1]["data"]


async def test_the_front_desk_tracks_dates_but_sees_no_clinical_content(clinic, cal):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Desk")
    patient_id = await factories.make_patient(clinic)
    scan = await image_samples.stored(cal["dentist"], patient_id)
    case_id = await _crown(cal["dentist"], patient_id, await _lab(clinic), image_ids=str(scan),
                           instructions="Light occlusion")
    seen = await cases.get_case(desk, patient_id, case_id)
    assert seen["instructions"] is None and seen["shade"] is None and seen["image_ids"] == []
    assert seen["due_on"] == _working_days_ahead(7)
    with pytest.raises(Forbidden):
        await sending.slip_pdf(desk, patient_id, case_id)


async def test_the_labs_invoice_is_recorded_against_the_case_and_corrected_by_a_new_entry(clinic, cal):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Desk")
    patient_id = await factories.make_patient(clinic)
    case_id = await _crown(cal["dentist"], patient_id, await _lab(clinic))
    with pytest.raises(ValidationFailed):
        await cases.record_invoice(desk, patient_id, case_id, cases.InvoiceForm(amount="lots"))
    await cases.record_invoice(desk, patient_id, case_id, cases.InvoiceForm(amount="145,00", reference="F-1"))
    await cases.record_invoice(desk, patient_id, case_id, cases.InvoiceForm(amount="-20"))
    assert (await cases.get_case(desk, patient_id, case_id))["cost"] == Decimal("125.00")
    exported = await CATEGORIES["lab_cases"].collect(patient_id)
    assert [c["amount"] for c in exported[0]["cost"]] == ["145.00", "-20.00"]



async def test_erasure_isolates_lab_work_and_retention_erases_it_with_its_append_only_history(clinic, cal):
    from datetime import datetime, timedelta, timezone

    from portal import db
    from portal.privacy import erasure, retention
    from portal.tables import Appointment, Disclosure, LabCase, LabInvoice, Patient, Prescription, Referral

    patient_id = await factories.make_patient(clinic)
    records = await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    await sending.send_case(cal["dentist"], patient_id, records["case_id"])
    await cases.record_invoice(clinic, patient_id, records["case_id"], cases.InvoiceForm(amount="99"))
    async with db.transaction():
        result = await erasure.carry_out(clinic, patient_id)
    assert {"lab_cases", "prescriptions", "referrals", "disclosures"} <= set(result["isolated"])
    with pytest.raises(Exception):  # isolated: unknown to staff pages
        await cases.get_case(cal["dentist"], patient_id, records["case_id"])
    await retention.confirm_rule(clinic, retention.RuleForm("clinical", "20", "end_of_treatment", "WGBO 7:454"))
    long_ago = datetime.now(timezone.utc) - timedelta(days=365 * 21)
    await Appointment.update({Appointment.starts_at: long_ago, Appointment.ends_at: long_ago}, force=True)
    await Patient.update({Patient.created_at: long_ago}, force=True)
    await factories.age_clinical_entries(21)  # the case and letters count as clinical entries too
    assert (await retention.run_retention())["patients"] == 1
    for table in (LabCase, LabCaseEvent, LabInvoice, Disclosure, Prescription, Referral):
        assert await table.count() == 0, table._meta.tablename


async def test_an_approved_erasure_is_passed_on_to_every_recipient(clinic, cal, settings, mailbox):
    from portal.privacy import lab_records, request_decisions, requests

    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Desk")
    patient_id = await factories.make_patient(clinic)
    records = await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    await sending.send_case(cal["dentist"], patient_id, records["case_id"])
    assert await lab_records.pass_on(clinic, patient_id, "correction", 0, "phone_mobile") == 0  # never disclosed
    request_id = await requests.file_on_behalf(desk, patient_id, requests.OnBehalfForm(
        kind="erasure", channel="letter", identity_check="ID copy enclosed", details="Erase my data"))
    await request_decisions.decide(clinic, request_id, request_decisions.DecisionForm(decision="approved",
                                                                    identity_check="Passport seen at the desk"))
    while await outbox.deliver_due(settings):
        pass
    [notice] = mailbox.to("orders@kroonlab.test")[1:]  # after the order itself
    assert "Art. 19" in notice["Subject"] and f"lab_case {records['case_id']}" in notice.get_content()


async def test_the_patient_sees_who_received_their_data_on_the_access_page(client, clinic, cal, mailbox):
    from tests.privacy_helpers import sign_in_patient

    patient_id = await factories.make_patient(clinic, given_name="Eva", email="eva@example.org",
                                              date_of_birth="1980-02-03")
    records = await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    await sending.send_case(cal["dentist"], patient_id, records["case_id"])
    await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    page = await client.get("/privacy/me")
    assert page.status_code == 200
    assert "Who received your data" in page.text and "orders@kroonlab.test" in page.text
