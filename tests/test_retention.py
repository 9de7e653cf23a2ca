"""Retention: rules as data confirmed by the owner, erasable dates per category, and the daily run that
erases what is due (and nothing clinical without a confirmed rule)."""

from datetime import date, datetime, timedelta, timezone

from portal import patients
from portal.privacy import retention
from portal.privacy.retention import RuleForm, erasable_dates, run_retention
from portal.tables import Appointment, AuditEntry, Guardian, Patient, RetentionRule
from tests import factories
from tests.factories import post_form, sign_in_as

NL_RULE = retention.DEFAULT_RULES["NL"][0]


async def _old_patient(clinic, cal, years_ago: int) -> int:
    patient_id = await factories.make_patient(clinic, given_name="Old")
    await patients.add_guardian(clinic, patient_id, patients.GuardianForm(name="Old Parent"))
    visit = await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=2)).isoformat(), "10:00")
    then = datetime.now(timezone.utc) - timedelta(days=365 * years_ago + 10)
    await Appointment.update({Appointment.starts_at: then, Appointment.ends_at: then + timedelta(minutes=30),
                              Appointment.status: "completed"}).where(Appointment.id == visit)
    await Patient.update({Patient.created_at: then}).where(Patient.id == patient_id)
    return patient_id


async def test_nothing_clinical_is_erased_without_a_confirmed_rule(clinic, cal):
    patient_id = await _old_patient(clinic, cal, 30)
    dates = await erasable_dates(clinic.clinic_id, patient_id)
    assert dates["appointments"]["on"] is None and "not yet confirmed" in dates["appointments"]["text"]
    assert dates["contact"]["text"].startswith("Erasable at any time")
    assert await run_retention() == {"patients": 0, "categories": 0}
    assert await Patient.exists().where(Patient.id == patient_id)


async def test_the_daily_run_erases_what_is_due_and_records_it(clinic, cal):
    await retention.confirm_rule(clinic, RuleForm("clinical", str(NL_RULE.years), NL_RULE.basis, NL_RULE.source))
    due = await _old_patient(clinic, cal, 21)
    kept = await _old_patient(clinic, cal, 19)
    dates = await erasable_dates(clinic.clinic_id, kept)
    assert dates["identity"]["on"] > date.today() and "WGBO" in dates["identity"]["text"]
    result = await run_retention()
    assert result["patients"] == 1
    assert not await Patient.exists().where(Patient.id == due)
    assert not await Appointment.exists().where(Appointment.patient == due)
    assert await Guardian.count() == 1
    assert await Patient.exists().where(Patient.id == kept)
    entry = await AuditEntry.select().where(AuditEntry.action == "retention.erased").output(load_json=True).first()
    assert entry["patient_id"] == due and entry["actor_kind"] == "system"
    assert {"identity", "appointments", "contact", "guardians"} <= set(entry["detail"]["categories"])


async def test_owner_confirms_the_suggested_rule_for_their_country(client, clinic):
    await sign_in_as(client, clinic)
    page = await client.get("/privacy-settings")
    assert "WGBO" in page.text and "not confirmed" in page.text
    response = await post_form(client, "/privacy-settings/retention", {
        "retention_class": "clinical", "years": "20", "basis": "end_of_treatment", "source": NL_RULE.source})
    assert response.status_code == 303
    rule = await RetentionRule.select().first()
    assert (rule["years"], rule["confirmed_by"]) == (20, clinic.id)
    bad = await post_form(client, "/privacy-settings/retention", {"retention_class": "clinical", "years": "0",
                                                                  "basis": "end_of_treatment", "source": ""})
    assert bad.status_code == 422 and 'id="e-years"' in bad.text and 'id="e-source"' in bad.text


async def test_germany_ships_ten_years_and_other_countries_nothing(clinic):
    assert retention.DEFAULT_RULES["DE"][0].years == 10 and "630f" in retention.DEFAULT_RULES["DE"][0].source
    assert "FR" not in retention.DEFAULT_RULES


async def test_requests_and_access_log_of_an_erased_patient_go_by_their_own_rule(clinic, cal):
    from portal.privacy import requests
    from portal.tables import PrivacyRequest

    await retention.confirm_rule(clinic, RuleForm("clinical", "20", "end_of_treatment", NL_RULE.source))
    patient_id = await _old_patient(clinic, cal, 25)
    await requests.file_on_behalf(clinic, patient_id, requests.OnBehalfForm(
        kind="access", channel="letter", identity_check="ID copy", details="Copy"))
    long_ago = datetime.now(timezone.utc) - timedelta(days=365 * 24)
    await PrivacyRequest.update({PrivacyRequest.received_at: long_ago}, force=True)
    await run_retention()
    assert not await Patient.exists().where(Patient.id == patient_id)
    assert await PrivacyRequest.count() == 1  # no accountability rule yet: kept
    await retention.confirm_rule(clinic, RuleForm("accountability", "5", "last_entry", "Own policy: 5 years"))
    await run_retention()
    assert await PrivacyRequest.count() == 0
    assert await AuditEntry.exists().where(AuditEntry.action == "retention.erased_orphans")
    assert await AuditEntry.exists().where(AuditEntry.action == "retention.erased")  # the record of erasure stays


async def test_without_a_completed_visit_retention_counts_from_the_latest_clinical_entry(clinic, cal):
    """A record made 30 years ago with no visit, and an X-ray taken today: the clock starts today."""
    from tests import image_samples

    await retention.confirm_rule(clinic, RuleForm("clinical", str(NL_RULE.years), NL_RULE.basis, NL_RULE.source))
    patient_id = await factories.make_patient(clinic, given_name="Xray")
    await Patient.update({Patient.created_at: datetime.now(timezone.utc) - timedelta(days=365 * 30)}).where(
        Patient.id == patient_id)
    await image_samples.stored(clinic, patient_id)
    assert await retention.basis_date("end_of_treatment", patient_id) == date.today()
    dates = await erasable_dates(clinic.clinic_id, patient_id)
    assert dates["images"]["on"] >= date.today().replace(year=date.today().year + NL_RULE.years - 1)
    assert (await run_retention())["patients"] == 0
    assert await Patient.exists().where(Patient.id == patient_id)
