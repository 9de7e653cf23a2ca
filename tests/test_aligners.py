"""Aligner series: batches handed over, which aligner is worn today, the refinement loop from a new scan, change
reminders only with consent (through the outbox, once), and the page over HTTP."""

from datetime import date, datetime, timedelta, timezone

import asyncpg
import pytest

from portal import clock, consents, db
from portal.consents import ConsentChange, ConsentKind
from portal.errors import ValidationFailed
from portal.lab import aligners
from portal.permissions import Role
from portal.tables import AlignerBatch, OutboxMessage, PatientImage
from tests import factories
from tests.factories import post_form, sign_in_as


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST, name="Dr. Ortho")


async def _scan(clinic, patient_id: int) -> int:
    row = PatientImage(clinic=clinic.clinic_id, patient=patient_id, kind="scan", format="stl",
                       content_type="model/stl", byte_size=84, original_name="upper.stl",
                       taken_on=date.today(), uploaded_at=datetime.now(timezone.utc))
    await row.save()
    return row.id


def test_the_aligner_worn_is_derived_from_the_latest_batch():
    series = {"days_per_aligner": 7}
    start = date(2027, 1, 4)
    rounds = [{"number": 0, "stages": 20, "batches": [
        {"id": 1, "first_stage": 1, "last_stage": 6, "wear_from": start}]}]
    assert aligners.wearing(series, rounds, start - timedelta(days=1)) is None
    first = aligners.wearing(series, rounds, start)
    assert (first["stage"], first["of"], first["next_change"], first["changes_today"]) == (1, 20, date(2027, 1, 11),
                                                                                          False)
    day15 = aligners.wearing(series, rounds, start + timedelta(days=14))
    assert (day15["stage"], day15["changes_today"]) == (3, True)
    later = aligners.wearing(series, rounds, start + timedelta(days=70))
    assert (later["stage"], later["batch_used_up"], later["next_change"], later["changes_today"]) == (6, True, None,
                                                                                                      False)


async def test_batches_follow_on_and_a_refinement_starts_a_new_round_from_a_new_scan(clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    series_id = await aligners.start_series(dentist, patient_id, aligners.SeriesForm(stages="20",
                                                                                     days_per_aligner="7"))
    with pytest.raises(ValidationFailed) as bad:
        await aligners.start_series(dentist, patient_id, aligners.SeriesForm(stages="0", days_per_aligner="90"))
    assert set(bad.value.errors) == {"stages", "days_per_aligner"}
    today = clock.today(dentist.time_zone)
    await aligners.deliver_batch(dentist, patient_id, series_id, aligners.BatchForm(
        first_stage="1", last_stage="6", wear_from=(today - timedelta(days=15)).isoformat()))
    with pytest.raises(ValidationFailed) as gap:  # aligner 7 comes next, and no further than the plan's 20
        await aligners.deliver_batch(dentist, patient_id, series_id, aligners.BatchForm(
            first_stage="9", last_stage="25", wear_from=today.isoformat()))
    assert set(gap.value.errors) == {"first_stage", "last_stage"}
    [series] = await aligners.series_for(dentist, patient_id)
    assert series["wearing"]["stage"] == 3 and series["next_first"] == 7

    with pytest.raises(ValidationFailed) as no_scan:
        await aligners.refine(dentist, patient_id, series_id, aligners.RefinementForm(stages="8"))
    assert set(no_scan.value.errors) == {"scan_image_id"}
    await aligners.refine(dentist, patient_id, series_id, aligners.RefinementForm(
        stages="8", scan_image_id=str(await _scan(clinic, patient_id)), note="Lateral 22 lagging"))
    await aligners.deliver_batch(dentist, patient_id, series_id, aligners.BatchForm(
        first_stage="1", last_stage="8", wear_from=today.isoformat()))
    [series] = await aligners.series_for(dentist, patient_id)
    assert [r["number"] for r in series["rounds"]] == [0, 1]
    assert (series["wearing"]["round"], series["wearing"]["stage"], series["wearing"]["of"]) == (1, 1, 8)
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await db.run_sql("UPDATE aligner_batch SET last_stage = 20")
    assert await AlignerBatch.count() == 2


async def test_change_reminders_go_only_with_consent_and_once(clinic, dentist):
    today = clock.today(clinic.time_zone)
    patients = {}
    for name, wants, consent in (("Wants", True, True), ("NoConsent", True, False), ("NoWish", False, True)):
        patient_id = await factories.make_patient(clinic, given_name=name, email=f"{name.lower()}@example.org")
        if consent:
            await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                         ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
        series_id = await aligners.start_series(dentist, patient_id, aligners.SeriesForm(
            stages="10", days_per_aligner="7", reminders=wants))
        await aligners.deliver_batch(dentist, patient_id, series_id, aligners.BatchForm(
            first_stage="1", last_stage="5", wear_from=(today - timedelta(days=14)).isoformat()))
        patients[name] = patient_id
    assert await aligners.plan_change_reminders() == 1
    assert await aligners.plan_change_reminders() == 0  # a rerun (or a second worker) queues nothing twice
    [message] = await OutboxMessage.select(OutboxMessage.recipient, OutboxMessage.subject,
                                           OutboxMessage.idempotency_key)
    assert message["recipient"] == "wants@example.org" and "aligner 3" in message["subject"]
    assert message["idempotency_key"].startswith("aligner:")


async def test_the_aligner_page_starts_a_series_and_refuses_beside_the_field(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    url = f"/patients/{patient_id}/aligners"
    assert "No aligner series yet." in (await client.get(url)).text
    refused = await post_form(client, url, {"stages": "500", "days_per_aligner": "14"})
    assert refused.status_code == 422 and 'id="e-stages"' in refused.text and 'value="500"' in refused.text
    assert (await post_form(client, url, {"stages": "20", "days_per_aligner": "10", "reminders": "on"})
            ).status_code == 303
    page = await client.get(url)
    assert "First plan: 20 aligners" in page.text and "Change reminders by mail" in page.text
    series_id = int(page.text.split('id="series-')[1].split('"')[0])
    wear_from = clock.today(dentist.time_zone).isoformat()
    assert (await post_form(client, f"{url}/{series_id}/batches", {"first_stage": "1", "last_stage": "4",
                                                                  "wear_from": wear_from})).status_code == 303
    assert "Wearing aligner 1 of 20" in (await client.get(url)).text
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    assert (await client.get(url)).status_code == 403
