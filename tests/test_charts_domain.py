"""Chart rules through the domain: history versions and alerts, findings, plans, signed notes."""

import json
import re

import asyncpg
import pytest

from portal import db
from portal.charts import (
    clinical_notes,
    fee_schedule,
    medical_history,
    odontogram,
    plan_document,
    teeth,
    treatment_plans,
)
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.permissions import Role
from portal.tables import ClinicalNote, PlanAcceptance, ToothFinding
from tests import factories


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST, name="Dr. Bakker")


async def test_history_is_versioned_and_raises_alerts(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    v1 = await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(
        allergies="Penicillin (rash), latex gloves", medications="Warfarin 5 mg"))
    v2 = await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(
        allergies="Latex", medications="", pregnant="yes"))
    assert (v1, v2) == (1, 2)
    assert (await medical_history.get_version(dentist, patient_id, 1))["medications"] == "Warfarin 5 mg"
    assert (await medical_history.get_version(dentist, patient_id))["version"] == 2
    labels = [a["label"] for a in await medical_history.active_alerts(dentist, patient_id)]
    assert labels == ["Latex allergy", "Pregnant"]  # the penicillin and warfarin alerts went with version 1
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await db.run_sql("UPDATE medical_history SET allergies = ''")


async def test_manual_alert_and_bad_history_input(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    alert_id = await medical_history.add_alert(dentist, patient_id, medical_history.AlertForm(label="Needle phobia",
                                                                                             severity="medium"))
    assert await medical_history.alerts_for_patients(clinic.clinic_id, [patient_id]) == {patient_id: ["Needle phobia"]}
    await medical_history.resolve_alert(dentist, patient_id, alert_id)
    assert await medical_history.active_alerts(dentist, patient_id) == []
    with pytest.raises(ValidationFailed) as exc:
        await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(smoking="sometimes"))
    assert "smoking" in exc.value.errors


def test_numbering_is_stored_fdi_and_shown_either_way():
    assert teeth.label(36, "universal") == "19" and teeth.label(36, "fdi") == "36"
    assert teeth.parse_tooth("19", "universal") == 36 and teeth.parse_tooth("A", "universal") == 55
    assert teeth.label(85, "universal") == "T" and teeth.label(48, "universal") == "32"
    with pytest.raises(ValidationFailed):
        teeth.parse_tooth("19", "fdi")
    assert teeth.surface_label(11, "MO") == "MI"


async def test_findings_draw_newest_per_surface_and_keep_history(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="caries", s_m=True, s_o=True))
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(
        kind="filling", state="completed", material="composite", s_o=True))
    await odontogram.record_finding(dentist, patient_id, 46, odontogram.FindingForm(kind="missing", s_o=True))
    chart = await odontogram.chart_findings(dentist, patient_id)
    assert chart[36]["surfaces"] == {"M": ("caries", "existing"), "O": ("filling", "completed")}
    assert chart[46] == {"surfaces": {}, "whole": {"missing": "existing"}}  # whole-tooth kinds ignore surfaces
    assert len(await odontogram.tooth_history(dentist, patient_id, 36)) == 2
    with pytest.raises(ValidationFailed) as exc:
        await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="caries"))
    assert "surfaces" in exc.value.errors
    with pytest.raises(ValidationFailed):
        await odontogram.record_finding(dentist, patient_id, 19, odontogram.FindingForm(kind="crown"))


async def _fees(clinic):
    await fee_schedule.load_demo_schedule(clinic)
    return {c["code"]: c for c in await fee_schedule.list_codes(clinic)}


async def test_acceptance_survives_later_fee_changes_and_completion_charts(clinic, dentist):
    codes = await _fees(clinic)
    patient_id = await factories.make_patient(clinic)
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Restorative"))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["FI2"]["id"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["HY01"]["id"]), phase="2"))
    await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Anna", method="written"))
    await fee_schedule.save_code(clinic, fee_schedule.ProcedureForm(
        code="FI2", description="Filling, two surfaces (composite)", fee="999.00", charts_as="filling",
        material="composite"), codes["FI2"]["id"])
    plan = await treatment_plans.get_plan(dentist, patient_id, plan_id)
    [acceptance] = plan["acceptances"]
    assert str(acceptance["total"]) == "165.00" and acceptance["items"][0]["fee"] == "105.00"
    assert acceptance["plan_version"] == 3 and str(plan["total"]) == "165.00"
    assert [str(p["total"]) for p in plan["phases"]] == ["105.00", "60.00"]
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await db.run_sql("UPDATE plan_acceptance SET total = 1")

    filling = plan["phases"][0]["items"][0]
    await treatment_plans.complete_item(dentist, patient_id, plan_id, filling["id"])
    chart = await odontogram.chart_findings(dentist, patient_id)
    assert chart[36]["surfaces"] == {"M": ("filling", "completed"), "O": ("filling", "completed")}
    assert (await treatment_plans.get_plan(dentist, patient_id, plan_id))["status"] == "in_progress"
    entry = await ClinicalNote.select().where(ClinicalNote.template == "procedure").first()
    assert "FI2" in entry["body"] and "36 MO" in entry["body"]
    with pytest.raises(ValidationFailed):
        await treatment_plans.complete_item(dentist, patient_id, plan_id, filling["id"])


async def test_acceptance_at_the_chair_takes_a_drawn_signature_hashed_with_what_was_signed(clinic, dentist):
    codes = await _fees(clinic)
    patient_id = await factories.make_patient(clinic)
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Crown"))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["FI2"]["id"]), tooth="36", s_m=True, s_o=True))
    with pytest.raises(ValidationFailed) as unsigned:
        await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(accepted_by="Anna"))
    assert set(unsigned.value.errors) == {"signature"}
    with pytest.raises(ValidationFailed) as scribble:
        await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(
            accepted_by="Anna", strokes="[[[10,10],[9999,10]]]"))
    assert "signature" in scribble.value.errors
    assert await PlanAcceptance.count() == 0
    await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Mother of Anna", signer_role="guardian", strokes="[[[10,20],[60,80],[120,40]]]"))
    plan = await treatment_plans.get_plan(dentist, patient_id, plan_id)
    [row] = await PlanAcceptance.select().output(load_json=True)
    assert bytes(row["signature_png"]).startswith(b"\x89PNG") and row["signer_role"] == "guardian"
    assert row["signature_strokes"] == [[[10, 20], [60, 80], [120, 40]]] and len(row["signed_sha256"]) == 64
    assert treatment_plans.verify(plan, row)
    assert not treatment_plans.verify(plan, {**row, "items": [{**row["items"][0], "fee": "1.00"}]})
    assert not treatment_plans.verify(plan, {**row, "accepted_by": "Someone else"})
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await db.run_sql("UPDATE plan_acceptance SET signed_sha256 = 'x'")
    name, document = await plan_document.plan_pdf(dentist, patient_id, plan_id)
    assert name == f"plan-{plan_id}-v{plan['version']}.pdf" and document.startswith(b"%PDF")
    assert b"/Subtype /Image" in document  # the drawn signature is on the plan PDF


async def test_a_plan_must_be_accepted_before_treatment(clinic, dentist):
    codes = await _fees(clinic)
    patient_id = await factories.make_patient(clinic)
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Crown"))
    item_id = await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["CR1"]["id"]), tooth="11"))
    with pytest.raises(ValidationFailed):
        await treatment_plans.complete_item(dentist, patient_id, plan_id, item_id)
    with pytest.raises(ValidationFailed) as exc:
        await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
            procedure_code_id=str(codes["FI1"]["id"]), tooth="99"))
    assert "tooth" in exc.value.errors
    assert await PlanAcceptance.count() == 0


async def test_planned_work_on_the_chart_is_derived_from_open_plans(clinic, dentist):
    """The chart draws "planned" from plan items of plans still open; declining takes the work off the chart,
    and planning writes no finding rows (the tooth's history holds what was found and done)."""
    codes = await _fees(clinic)
    patient_id = await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="caries", s_m=True))
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Restorative"))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["FI2"]["id"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["CR1"]["id"]), tooth="11"))
    chart = await odontogram.chart_findings(dentist, patient_id)
    assert chart[36]["surfaces"] == {"M": ("filling", "planned"), "O": ("filling", "planned")}
    assert chart[11]["whole"] == {"crown": "planned"}
    assert await ToothFinding.count() == 1  # the caries only: planning copies nothing into the findings

    await treatment_plans.decline(dentist, patient_id, plan_id)
    chart = await odontogram.chart_findings(dentist, patient_id)
    assert chart[36]["surfaces"] == {"M": ("caries", "existing")}
    assert 11 not in chart


async def test_old_copied_planned_rows_no_longer_draw(clinic, dentist):
    """Rows an earlier version copied from plan items stay in the append-only history but are not drawn."""
    patient_id = await factories.make_patient(clinic)
    await odontogram.insert_finding(dentist, patient_id, 21, "", "crown", "planned", note="Plan: old",
                                    plan_item=999)
    assert 21 not in await odontogram.chart_findings(dentist, patient_id)
    assert len(await odontogram.tooth_history(dentist, patient_id, 21)) == 1


async def test_findings_cannot_be_changed_or_removed_in_place(clinic, dentist):
    """A correction is a new finding; the tooth chart's kept fold relies on it (migration 2026-12-04T10:20)."""
    patient_id = await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="caries", s_m=True, s_o=True))
    for sql in ("UPDATE tooth_finding SET kind = 'filling'", "DELETE FROM tooth_finding"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await db.run_sql(sql)
    assert len(await odontogram.tooth_history(dentist, patient_id, 36)) == 1


async def test_amendment_keeps_the_original_and_notes_cannot_change(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    note_id = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(
        template="exam", body="Caries 36 MO. Plan: filling."))
    amendment_id = await clinical_notes.amend_note(dentist, patient_id, note_id, clinical_notes.AmendmentForm(
        body="Caries is on 37, not 36.", reason="Wrong tooth"))
    notes, more = await clinical_notes.list_notes(dentist, patient_id)
    assert not more and [n["id"] for n in notes] == [note_id]
    assert notes[0]["body"] == "Caries 36 MO. Plan: filling."
    [amendment] = notes[0]["amendments"]
    assert amendment["id"] == amendment_id and amendment["amendment_reason"] == "Wrong tooth"
    assert amendment["content_hash"] == clinical_notes.content_hash(
        patient_id, dentist.id, amendment["signed_at"], amendment["body"], note_id)
    for sql in ("UPDATE clinical_note SET body = 'x'", "DELETE FROM clinical_note"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await db.run_sql(sql)


async def test_front_desk_and_other_clinics_are_refused(clinic, other_clinic, dentist):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic)
    note_id = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(body="Seen."))
    with pytest.raises(Forbidden):
        await clinical_notes.list_notes(receptionist, patient_id)
    with pytest.raises(Forbidden):
        await odontogram.chart_findings(receptionist, patient_id)
    assert await medical_history.active_alerts(receptionist, patient_id) == []  # alerts are front-desk visible
    with pytest.raises(NotFound):
        await clinical_notes.get_note(other_clinic, patient_id, note_id)
    with pytest.raises(NotFound):
        await odontogram.record_finding(other_clinic, patient_id, 36, odontogram.FindingForm(kind="crown"))
    assert await ToothFinding.count() == 0


async def test_the_kept_chart_follows_every_change_and_stays_in_its_clinic(clinic, dentist, other_clinic, monkeypatch):
    from datetime import datetime, timezone

    from piccolo.engine.postgres import PostgresEngine

    from portal.tables import AuditEntry

    statements: list[str] = []
    original = PostgresEngine.run_querystring

    async def counted(self, querystring, in_pool=True):
        statements.append(str(querystring))
        return await original(self, querystring, in_pool)

    def findings_reads() -> int:
        return sum("tooth_finding" in s for s in statements)

    patient_id = await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="caries", s_m=True))
    monkeypatch.setattr(PostgresEngine, "run_querystring", counted)
    assert (await odontogram.chart_findings(dentist, patient_id))[36]["surfaces"] == {"M": ("caries", "existing")}
    first_read = findings_reads()
    statements.clear()
    assert (await odontogram.chart_findings(dentist, patient_id))[36]["surfaces"] == {"M": ("caries", "existing")}
    assert (first_read, findings_reads()) == (2, 1)  # the second view reads the version, not the findings
    monkeypatch.setattr(PostgresEngine, "run_querystring", original)

    await odontogram.record_finding(dentist, patient_id, 16, odontogram.FindingForm(kind="crown"))
    chart = await odontogram.chart_findings(dentist, patient_id)
    assert chart[16]["whole"] == {"crown": "existing"} and chart[36]["surfaces"] == {"M": ("caries", "existing")}
    # The caries erased and a filling written under the same id (as after a restore, or the tests' truncation):
    # same count, same sum of ids, and still the filling is drawn.
    from portal.privacy.categories import allow_erasure

    caries = await ToothFinding.select(ToothFinding.id).where(ToothFinding.tooth == 36).first()
    async with db.transaction():  # findings are append-only: only an erasure removes one
        await allow_erasure()
        await ToothFinding.delete().where(ToothFinding.id == caries["id"])
    await ToothFinding.insert(ToothFinding(id=caries["id"], clinic=dentist.clinic_id, patient=patient_id, tooth=36,
                                           surfaces="D", kind="filling", state="completed",
                                           recorded_at=datetime.now(timezone.utc)))
    assert (await odontogram.chart_findings(dentist, patient_id))[36]["surfaces"] == {"D": ("filling", "completed")}
    async with db.transaction():
        await allow_erasure()
        await ToothFinding.delete().where(ToothFinding.patient == patient_id)
    assert await odontogram.chart_findings(dentist, patient_id) == {}
    with pytest.raises(NotFound):  # another clinic's staff never reach the kept chart
        await odontogram.chart_findings(other_clinic, patient_id)
    assert await AuditEntry.count().where(AuditEntry.action == "tooth_chart.viewed") == 5  # every view, kept or not


async def test_the_chart_lists_the_newest_original_notes_and_marks_the_amended(clinic, dentist):
    from portal.tables import AuditEntry

    patient_id = await factories.make_patient(clinic)
    first = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(body="Tooth 36 sensitive."))
    await clinical_notes.amend_note(dentist, patient_id, first, clinical_notes.AmendmentForm(
        body="It was tooth 37.", reason="Wrong tooth"))
    second = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(body="Check-up."))
    notes, more = await clinical_notes.recent_notes(dentist, patient_id, 1)
    assert [(n["id"], n["amended"]) for n in notes] == [(second, False)] and more
    notes, more = await clinical_notes.recent_notes(dentist, patient_id, 5)
    assert [(n["body"], n["amended"]) for n in notes] == [("Check-up.", False), ("Tooth 36 sensitive.", True)]
    assert not more
    viewed = await AuditEntry.select(AuditEntry.detail).where(AuditEntry.action == "clinical_notes.viewed").order_by(
        AuditEntry.id)
    assert [json.loads(row["detail"])["notes"] for row in viewed] == [[second], [second, first]]


async def test_one_kept_state_is_drawn_in_each_readers_language_with_its_selected_tooth():
    from portal import i18n
    from portal.charts import tooth_chart_svg

    state = {36: {"surfaces": {"M": ("caries", "planned")}, "whole": {"missing": "existing"}}}
    with i18n.using("de"):
        german = tooth_chart_svg.drawing(state, "fdi")
    with i18n.using("en"):
        english = tooth_chart_svg.drawing(state, "fdi")
        assert tooth_chart_svg.drawing(state, "fdi") is english  # kept: drawn once per state and language
        universal = tooth_chart_svg.drawing(state, "universal")
    tooth = next(t for t in german.teeth if t.fdi == 36)
    assert tooth.summary.startswith("Zahn 36: Karies M") and tooth.missing and tooth.marked
    assert next(t for t in english.teeth if t.fdi == 36).summary == "Tooth 36: Caries M (planned); Missing (existing)"
    assert next(t for t in universal.teeth if t.fdi == 36).summary.startswith("Tooth 19: ")
    for selected in (36, 16, None):
        links = english.links("/patients/7/chart/teeth/", selected)
        chosen = re.findall(r'<a href="/patients/7/chart/teeth/(\d+)"[^>]*class="tooth selected', links)
        assert chosen == ([str(selected)] if selected else [])
        assert links.count('class="tooth missing"' if selected != 36 else 'class="tooth selected missing"') == 1


async def test_a_kept_chart_nobody_opens_leaves_memory_at_the_next_chart_read(clinic, dentist, monkeypatch):
    """Findings are clinical data: an erased patient's fold must not stay in a process for ever."""
    first, second = await factories.make_patient(clinic), await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, first, 36, odontogram.FindingForm(kind="caries", s_o=True))
    await odontogram.read_chart(dentist, first)
    assert (clinic.clinic_id, first) in odontogram._kept
    later = odontogram.time.monotonic() + odontogram.KEEP_UNUSED_SECONDS + 1
    monkeypatch.setattr(odontogram.time, "monotonic", lambda: later)
    await odontogram.read_chart(dentist, second)
    assert (clinic.clinic_id, first) not in odontogram._kept and (clinic.clinic_id, second) in odontogram._kept
