"""Recall: types per clinic, due dates moved by completed procedures, the front desk's list and contact log."""

from datetime import date, timedelta

import pytest

from portal import clock
from portal.charts import fee_schedule, treatment_plans
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.permissions import Role
from portal.recall import due, recall_types
from portal.tables import AuditEntry, PatientRecall, RecallType
from tests import factories


async def _complete(owner, dentist, patient_id: int, code: str) -> None:
    await fee_schedule.load_demo_schedule(owner)
    code_id = [c for c in await fee_schedule.list_codes(owner) if c["code"] == code][0]["id"]
    plan = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Recall"))
    item = await treatment_plans.add_item(dentist, patient_id, plan, treatment_plans.ItemForm(
        procedure_code_id=str(code_id)))
    await treatment_plans.accept(dentist, patient_id, plan, treatment_plans.AcceptanceForm(
        accepted_by="Anna", method="written"))
    await treatment_plans.complete_item(dentist, patient_id, plan, item)


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert due.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert due.add_months(date(2026, 1, 15), 3) == date(2026, 4, 15)
    assert due.add_months(date(2026, 11, 30), 1) == date(2026, 12, 30)


async def test_each_clinic_starts_with_the_four_default_types(clinic, other_clinic, cal):
    types = {t["name"]: t for t in await recall_types.list_types(clinic)}
    assert {n: t["months"] for n, t in types.items()} == {
        "Check-up": 6, "Hygiene": 6, "Perio maintenance": 3, "Child check-up": 6}
    assert types["Check-up"]["appointment_type"] == cal["checkup"]  # books the clinic's "Check-up" type
    assert types["Hygiene"]["appointment_type"] == cal["cleaning"]
    assert types["Child check-up"]["for_children"]
    await recall_types.list_types(clinic)  # idempotent
    assert await RecallType.count().where(RecallType.clinic == clinic.clinic_id) == 4
    assert await recall_types.list_types(other_clinic)  # every clinic its own
    assert await RecallType.count() == 8


async def test_completing_a_check_up_starts_and_moves_the_recall(clinic, cal):
    patient = await factories.make_patient(clinic)
    await _complete(clinic, cal["dentist"], patient, "EX02")
    today = clock.today(clinic.time_zone)
    card = await due.for_patient(clinic, patient)
    assert [(r["type_name"], r["due_on"], r["provider_name"]) for r in card["recalls"]] == [
        ("Check-up", due.add_months(today, 6), "Dr. Dekker")]
    # a scale and polish starts the hygiene recall too; another check-up moves only the check-up
    await _complete(clinic, cal["dentist"], patient, "HY01")
    assert {r["type_name"] for r in (await due.for_patient(clinic, patient))["recalls"]} == {"Check-up", "Hygiene"}
    await PatientRecall.update({PatientRecall.due_on: today - timedelta(days=3)}).where(
        PatientRecall.patient == patient)
    await _complete(clinic, cal["dentist"], patient, "EX01")
    dues = {r["type_name"]: r["due_on"] for r in (await due.for_patient(clinic, patient))["recalls"]}
    assert dues == {"Check-up": due.add_months(today, 6), "Hygiene": today - timedelta(days=3)}
    assert await AuditEntry.count().where(AuditEntry.action == "recall.moved") == 3


async def test_a_child_gets_the_child_check_up(clinic, cal):
    child = await factories.make_patient(clinic, date_of_birth=(date.today() - timedelta(days=365 * 8)).isoformat())
    await _complete(clinic, cal["dentist"], child, "EX02")
    assert [r["type_name"] for r in (await due.for_patient(clinic, child))["recalls"]] == ["Child check-up"]


async def test_a_perio_diagnosis_switches_the_patient_to_perio_maintenance(clinic, cal):
    patient = await factories.make_patient(clinic)
    perio = [t for t in await recall_types.list_types(clinic) if t["name"] == "Perio maintenance"][0]
    await due.set_recall(clinic, patient, due.RecallForm(str(perio["id"]), "2027-01-10"))
    assert [(r["type_name"], r["due_on"]) for r in (await due.for_patient(clinic, patient))["recalls"]] == [
        ("Perio maintenance", date(2027, 1, 10))]
    with pytest.raises(ValidationFailed) as refused:
        await due.set_recall(clinic, patient, due.RecallForm("", "soon"))
    assert set(refused.value.errors) == {"recall_type_id", "due_on"}


async def test_the_list_shows_due_overdue_and_scheduled(clinic, cal):
    today = clock.today(clinic.time_zone)
    checkup = [t for t in await recall_types.list_types(clinic) if t["name"] == "Check-up"][0]
    for name, offset in (("Due", 0), ("Late", -40), ("Later", 120), ("Booked", -10)):
        pid = await factories.make_patient(clinic, given_name=name)
        when = (today + timedelta(days=offset)).isoformat()
        await due.set_recall(clinic, pid, due.RecallForm(str(checkup["id"]), when))
        if name == "Booked":
            await factories.book(clinic, cal, pid, (today + timedelta(days=5)).isoformat(), "10:00")

    async def shown(**filters):
        return [r["given_name"] for r in await due.recall_list(clinic, due.RecallFilter(**filters))]

    assert await shown(view="due") == ["Due"]
    assert await shown(view="overdue") == ["Late"]
    assert await shown(view="scheduled") == ["Booked"]
    assert sorted(await shown(view="all")) == ["Booked", "Due", "Late", "Later"]
    assert await shown(view="all", channel="reminder_email") == []  # nobody consented yet
    hygiene = [t for t in await recall_types.list_types(clinic) if t["name"] == "Hygiene"][0]
    assert await shown(view="all", recall_type=str(hygiene["id"])) == []


async def test_contact_attempts_are_logged_and_shown(clinic, cal):
    patient = await factories.make_patient(clinic)
    await due.log_contact(clinic, patient, due.ContactForm(kind="no_answer"))
    await due.log_contact(clinic, patient, due.ContactForm(kind="called", note="Will call back in May"))
    card = await due.for_patient(clinic, patient)
    assert [(c["kind"], c["note"]) for c in card["contacts"]] == [("called", "Will call back in May"),
                                                                  ("no_answer", "")]
    with pytest.raises(ValidationFailed) as refused:
        await due.log_contact(clinic, patient, due.ContactForm(kind="reminded", note="x" * 301))
    assert set(refused.value.errors) == {"kind", "note"}


async def test_recall_stays_in_its_clinic_and_needs_the_calendar(clinic, other_clinic, cal):
    patient = await factories.make_patient(clinic)
    with pytest.raises(NotFound):
        await due.for_patient(other_clinic, patient)
    with pytest.raises(NotFound):
        await due.log_contact(other_clinic, patient, due.ContactForm(kind="called"))
    reader = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await recall_types.save_type(reader, recall_types.RecallTypeForm(name="Implant review", months="12"))


async def test_owner_adds_and_edits_recall_types(clinic, cal):
    type_id = await recall_types.save_type(clinic, recall_types.RecallTypeForm(
        name="Implant review", months="12", fee_codes="im1, XR02", appointment_type_id=str(cal["checkup"])))
    row = await recall_types.get_type(clinic, type_id)
    assert (row["fee_codes"], row["months"]) == ("IM1,XR02", 12)
    with pytest.raises(ValidationFailed) as refused:
        await recall_types.save_type(clinic, recall_types.RecallTypeForm(name="implant REVIEW", months="0"))
    assert set(refused.value.errors) == {"months"}
    with pytest.raises(ValidationFailed) as taken:
        await recall_types.save_type(clinic, recall_types.RecallTypeForm(name="implant REVIEW", months="3"))
    assert "already" in taken.value.errors["name"]


async def test_recall_data_is_in_the_privacy_registry_and_erased(clinic, cal):
    from portal.privacy.registry import CATEGORIES

    patient = await factories.make_patient(clinic)
    await _complete(clinic, cal["dentist"], patient, "EX02")
    await due.log_contact(clinic, patient, due.ContactForm(kind="called", note="Call after 5"))
    [recall] = await CATEGORIES["recall"].collect(patient)
    assert recall["recall_type.name"] == "Check-up" and recall["provider.name"] == "Dr. Dekker"
    assert [c["note"] for c in await CATEGORIES["recall_contacts"].collect(patient)] == ["Call after 5"]
    for name in ("recall", "recall_contacts", "booking_holds"):
        await CATEGORIES[name].erase(patient)
        assert await CATEGORIES[name].collect(patient) == []
    assert await PatientRecall.count() == 0
