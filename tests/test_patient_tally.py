"""The patient tally the dashboard reads stays equal to counting the patients, whatever adds, erases or moves them."""

from datetime import datetime, timezone

from portal import dashboard
from portal.tables import Clinic, Patient, PatientTally
from tests import factories


async def _counted(clinic_id: int, zone: str) -> dict[str, int]:
    rows = await Patient.raw(
        "SELECT to_char(created_at AT TIME ZONE {}, 'YYYY-MM') AS month, count(*) AS n FROM patient "
        "WHERE clinic = {} GROUP BY 1", zone, clinic_id)
    return {r["month"]: r["n"] for r in rows}


async def _tallied(clinic_id: int) -> dict[str, int]:
    rows = await PatientTally.select().where((PatientTally.clinic == clinic_id) & (PatientTally.patients > 0))
    return {r["month"].isoformat()[:7]: r["patients"] for r in rows}


async def test_the_tally_follows_additions_erasures_moves_and_a_new_time_zone(clinic, other_clinic):
    ids = [await factories.make_patient(clinic) for _ in range(4)]
    await factories.make_patient(other_clinic)
    # 23:30 UTC on 31 January is February in Amsterdam: the month is the clinic's
    await Patient.update({Patient.created_at: datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc)}).where(
        Patient.id == ids[0])
    await Patient.update({Patient.created_at: datetime(2025, 6, 1, 12, tzinfo=timezone.utc)}).where(
        Patient.id.is_in(ids[1:3]))
    assert (await _tallied(clinic.clinic_id)).get("2026-02") == 1
    assert await _tallied(clinic.clinic_id) == await _counted(clinic.clinic_id, "Europe/Amsterdam")
    await Patient.delete().where(Patient.id == ids[1])  # as the erasure does
    assert await _tallied(clinic.clinic_id) == await _counted(clinic.clinic_id, "Europe/Amsterdam")
    await Clinic.update({Clinic.time_zone: "UTC"}).where(Clinic.id == clinic.clinic_id)
    tallied = await _tallied(clinic.clinic_id)
    assert tallied == await _counted(clinic.clinic_id, "UTC") and tallied.get("2026-01") == 1
    assert sum(tallied.values()) == 3
    assert await _tallied(other_clinic.clinic_id) == await _counted(other_clinic.clinic_id, "Europe/Amsterdam")


async def test_the_dashboard_reads_its_count_and_series_from_the_tally(clinic):
    ids = [await factories.make_patient(clinic) for _ in range(3)]
    await Patient.update({Patient.created_at: datetime(2020, 3, 3, tzinfo=timezone.utc)}).where(Patient.id == ids[0])
    overview = await dashboard.clinic_overview(clinic)
    assert overview["patients"] == 3
    assert overview["new_patients"][-1]["count"] == 2  # this month's; the 2020 patient counts only in the total
    assert sum(m["count"] for m in overview["new_patients"]) == 2
