"""Perio charting through the domain: entry order, validation, signing and immutability, and the 2017 AAP/EFP
suggestions on worked cases."""

import asyncpg
import pytest

from portal import db
from portal.charts import odontogram, perio, teeth
from portal.charts.perio_classification import attachment, suggest, summarise
from portal.db import transaction
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.permissions import Role
from portal.privacy.categories import allow_erasure
from portal.tables import AuditEntry, PerioExam, PerioTooth, Staff
from tests import factories

ALL = teeth.PERMANENT


def tooth(depths=(2, 2, 2, 2, 2, 2), margins=(0,) * 6, mobility=0, furcation=0, bleeding=(False,) * 6,
          plaque=(False,) * 6) -> dict:
    return {"depths": list(depths), "margins": list(margins), "bleeding": list(bleeding), "plaque": list(plaque),
            "suppuration": [False] * 6, "calculus": [False] * 6, "mobility": mobility, "furcation": furcation}


def mouth(present=ALL, **special) -> dict[int, dict]:
    """A healthy mouth (2 mm everywhere, margins at the enamel junction) with some teeth replaced."""
    return {t: special.get(f"t{t}", tooth()) for t in present}


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST, name="Dr. Bakker")


@pytest.fixture
async def hygienist(clinic):
    return await factories.make_staff(clinic, Role.HYGIENIST, name="Sanne de Hygienist")


def form(**values):
    return perio.ToothForm(**values)


# --- worked cases: stage and grade ---------------------------------------------------------------------------

def test_healthy_mouth_is_no_periodontitis():
    assert suggest(mouth(), 28).stage == "none" and suggest(mouth(), 28).grade == ""


def test_stage_one_from_recession_at_two_non_adjacent_teeth():
    recessed = tooth(depths=(2, 2, 1, 2, 2, 2), margins=(0, 0, -1, 0, 0, 0))  # MB: CAL 2
    result = suggest(mouth(t16=recessed, t36=recessed), 28)
    assert (result.stage, result.grade) == ("I", "B")


def test_adjacent_teeth_alone_are_not_a_case():
    recessed = tooth(depths=(2, 2, 1, 2, 2, 2), margins=(0, 0, -1, 0, 0, 0))
    assert suggest(mouth(t11=recessed, t21=recessed), 28).stage == "none"


def test_stage_two_from_four_millimetre_pockets():
    pocket = tooth(depths=(2, 2, 4, 2, 2, 2))
    assert suggest(mouth(t16=pocket, t46=pocket), 28).stage == "II"


def test_stage_three_from_a_six_millimetre_pocket_and_from_a_furcation():
    deep = tooth(depths=(2, 2, 6, 2, 2, 2))
    result = suggest(mouth(t16=deep, t46=tooth(depths=(4, 2, 2, 2, 2, 2))), 28)
    assert result.stage == "III" and any("five or more teeth" in r for r in result.reasons)
    furcation = tooth(depths=(3, 2, 4, 2, 2, 2), margins=(-1, 0, 0, 0, 0, 0), furcation=2)
    assert suggest(mouth(t36=furcation, t16=tooth(depths=(4, 2, 2, 2, 2, 2))), 28).stage == "III"


def test_stage_four_from_mobility_or_fewer_than_twenty_teeth():
    deep = tooth(depths=(7, 2, 6, 2, 2, 2))
    assert suggest(mouth(t16=deep, t46=deep | {"mobility": 2}), 28).stage == "IV"
    present = ALL[:18]
    assert suggest(mouth(present, t16=deep, t26=deep), 18).stage == "IV"


def test_grade_c_from_fast_progression_and_a_from_none_in_six_years():
    before = mouth(t16=tooth(depths=(2, 2, 4, 2, 2, 2)), t46=tooth(depths=(4, 2, 2, 2, 2, 2)))
    now = mouth(t16=tooth(depths=(2, 2, 6, 2, 2, 2)), t46=tooth(depths=(4, 2, 2, 2, 2, 2)))
    assert suggest(now, 28, before, years_between=2).grade == "C"
    assert suggest(before, 28, before, years_between=6).grade == "A"
    assert suggest(before, 28, before, years_between=6, smoker=True).grade == "B"
    assert suggest(now, 28, before, years_between=0.5).grade == "B"  # too short to measure: the default


def test_summary_counts_probed_sites_only():
    rows = {16: tooth(depths=(4, 2, 6, None, None, None), bleeding=(True, False, True, False, False, False),
                      plaque=(True, False, False, False, False, False))}
    s = summarise(rows)
    assert (s.sites, s.bleeding_percent, s.plaque_percent, s.sites_4mm, s.sites_6mm) == (3, 67, 33, 2, 1)
    assert attachment(3, -2) == 5 and attachment(5, 2) == 3 and attachment(None, 0) is None


# --- entry order -----------------------------------------------------------------------------------------------

def test_entry_sequence_is_buccal_then_lingual_quadrant_by_quadrant_skipping_missing_teeth():
    present = [t for t in ALL if t != 17]
    seq = perio.entry_sequence(present)
    assert len(seq) == len(set(seq)) == 6 * 31
    assert seq[:4] == [(18, 0), (18, 1), (18, 2), (16, 0)]  # 17 skipped, distal to mesial towards the midline
    assert seq[3 * 7:3 * 7 + 3] == [(21, 2), (21, 1), (21, 0)]  # mesial first on the left side
    assert seq[3 * 15] == (28, 3)  # palatal starts where buccal ended
    assert seq[6 * 15] == (48, 0) and seq[-1] == (48, 3)


# --- storage, signing, immutability ----------------------------------------------------------------------------

async def test_exam_skips_missing_teeth_and_reuses_the_open_draft(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await odontogram.record_finding(dentist, patient_id, 46, odontogram.FindingForm(kind="missing"))
    exam_id = await perio.start_exam(dentist, patient_id)
    assert await perio.start_exam(dentist, patient_id) == exam_id
    page = await perio.exam_page(dentist, patient_id, exam_id)
    assert 46 not in [t["tooth"] for t in page["teeth"]] and len(page["teeth"]) == 31


async def test_bad_values_are_refused_beside_their_field_and_nothing_is_stored(clinic, hygienist):
    patient_id = await factories.make_patient(clinic)
    exam_id = await perio.start_exam(hygienist, patient_id)
    with pytest.raises(ValidationFailed) as exc:
        await perio.save_tooth(hygienist, patient_id, exam_id, 11, form(d0="x", d1="16", g2="−20", d3="2", g3="5",
                                                                        furcation="1"))
    assert set(exc.value.errors) == {"d0", "d1", "g2", "g3", "furcation"}
    assert not await PerioTooth.count()
    with pytest.raises(NotFound):
        await perio.save_tooth(hygienist, patient_id, exam_id, 55, form(d0="2"))


async def test_signed_exam_is_immutable_and_only_registered_clinicians_sign(clinic, dentist, hygienist):
    patient_id = await factories.make_patient(clinic)
    exam_id = await perio.start_exam(hygienist, patient_id)
    saved = await perio.save_tooth(hygienist, patient_id, exam_id, 16, form(
        d0="5", d1="3", d2="6", d3="3", d4="2", d5="4", g0="-2", b0=True, p2=True, furcation="2", mobility="1"))
    assert saved["depths"] == [5, 3, 6, 3, 2, 4] and saved["margins"][0] == -2
    await perio.save_tooth(hygienist, patient_id, exam_id, 16, form(d0="4", d2="6", furcation="2"))  # again
    assert (await PerioTooth.select(PerioTooth.depths).first())["depths"] == [4, None, 6, None, None, None]
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await perio.sign_exam(receptionist, patient_id, exam_id, perio.SignForm(stage="III", grade="B"))
    with pytest.raises(ValidationFailed):
        await perio.sign_exam(clinic, patient_id, exam_id, perio.SignForm(stage="III", grade="B"))  # the owner
    await Staff.update({Staff.registration_number: ""}).where(Staff.id == hygienist.id)
    with pytest.raises(ValidationFailed) as exc:
        await perio.sign_exam(hygienist, patient_id, exam_id, perio.SignForm(stage="III", grade="B"))
    assert "registration" in exc.value.errors["form"]
    with pytest.raises(ValidationFailed) as exc:
        await perio.sign_exam(dentist, patient_id, exam_id, perio.SignForm(stage="V", grade=""))
    assert set(exc.value.errors) == {"stage", "grade"}
    await perio.sign_exam(dentist, patient_id, exam_id, perio.SignForm(stage="III", grade="B"))
    exam = await PerioExam.select().first()
    assert (exam["stage"], exam["grade"], exam["signed_by_name"]) == ("III", "B", "Dr. Bakker")
    rows = {16: await PerioTooth.select(*perio.TOOTH_COLUMNS).first()}
    assert exam["content_hash"] == perio.content_hash(exam, rows, dentist.id, exam["signed_at"], "III", "B")
    with pytest.raises(ValidationFailed):
        await perio.save_tooth(hygienist, patient_id, exam_id, 17, form(d0="3"))
    for sql in ("UPDATE perio_tooth SET mobility = 0", "DELETE FROM perio_tooth", "UPDATE perio_exam SET stage = 'I'",
                "DELETE FROM perio_exam", "INSERT INTO perio_tooth (clinic, exam, tooth, depths, margins, bleeding, "
                "suppuration, plaque, calculus, recorded_at) SELECT clinic, exam, 17, depths, margins, bleeding, "
                "suppuration, plaque, calculus, now() FROM perio_tooth"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await db.run_sql(sql)
    async with transaction():
        await allow_erasure()
        await PerioTooth.delete().where(PerioTooth.exam == exam_id)
        await PerioExam.delete().where(PerioExam.id == exam_id)
    assert not await PerioExam.count()
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(
        AuditEntry.patient_id == patient_id)}
    assert {"perio_exam.started", "perio_tooth.saved", "perio_exam.signed"} <= actions


async def test_exams_of_another_clinic_are_not_found(clinic, other_clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    exam_id = await perio.start_exam(dentist, patient_id)
    stranger = await factories.make_staff(other_clinic, Role.DENTIST)
    with pytest.raises(NotFound):
        await perio.exam_page(stranger, patient_id, exam_id)
    other_patient = await factories.make_patient(other_clinic)
    with pytest.raises(NotFound):
        await perio.compared_exams(stranger, other_patient, [exam_id, exam_id + 1])
