"""Patients: registration, demographics, guardians, typeahead search, audit of every read."""

import json
from datetime import date

import pytest

from portal import patient_fields, patients
from portal.permissions import Role
from portal.tables import AuditEntry, Guardian, Patient
from tests import factories
from tests.factories import post_form, sign_in_as

NEW_PATIENT = {"given_name": "Sofia", "family_name": "de Wit", "date_of_birth": "1990-02-03", "gender": "female",
               "national_id": "123456782", "email": "Sofia@Example.org", "phone_mobile": "06 1234 5678",
               "phone_other": "", "address": "Dam 1, Amsterdam", "preferred_language": "nl"}


async def test_receptionist_registers_a_patient_with_a_normalised_phone(client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    response = await post_form(client, "/patients", NEW_PATIENT)
    assert response.status_code == 303
    row = await Patient.select().first()
    assert row["phone_mobile"] == row["email"] == ""  # trusted once the holder (or staff, in person) confirms
    page = await client.get(response.headers["location"])
    assert "Sofia de Wit" in page.text and page.headers["cache-control"] == "no-store"
    waiting = await client.get(f"/patients/{row['id']}/contacts", headers={"HX-Request": "true"})
    assert "+31 6 12345678" in waiting.text and "sofia@example.org" in waiting.text


async def test_invalid_patient_form_changes_nothing_and_says_why(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/patients", {**NEW_PATIENT, "phone_mobile": "12", "date_of_birth":
                                                     "2099-01-01", "email": "nope"})
    assert response.status_code == 422
    assert "Enter a phone number we can dial" in response.text
    assert "The date of birth cannot be in the future." in response.text
    assert "Enter an email address like" in response.text
    assert 'value="de Wit"' in response.text  # what was typed is kept
    assert await Patient.count() == 0


async def test_editing_demographics_is_audited_with_the_changed_fields(client, clinic):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    assert (await client.get(f"/patients/{patient_id}/edit")).status_code == 200
    response = await post_form(client, f"/patients/{patient_id}", {**NEW_PATIENT, "given_name": "Sophie"})
    assert response.status_code == 303
    entry = await AuditEntry.select().where(AuditEntry.action == "patient.updated").output(load_json=True).first()
    assert entry["patient_id"] == patient_id and "given_name" in entry["detail"]["changed"]


async def test_guardian_for_a_minor(client, clinic):
    child = await factories.make_patient(clinic, given_name="Tim", date_of_birth=date(date.today().year - 8, 1, 1)
                                         .isoformat())
    await sign_in_as(client, clinic)
    page = await client.get(f"/patients/{child}")
    assert "minor and has no guardian" in page.text
    bad = await post_form(client, f"/patients/{child}/guardians", {"name": "", "phone": "abc"})
    assert bad.status_code == 422 and "Name is required." in bad.text
    ok = await post_form(client, f"/patients/{child}/guardians", {"name": "Eva de Wit", "relationship": "mother",
                                                                  "email": "eva@example.org", "phone": "0201234567"})
    assert ok.status_code == 303
    guardian = await Guardian.select().first()
    assert guardian["phone"] == guardian["email"] == ""  # both wait for the guardian to confirm them
    await factories.confirm_addresses(clinic, child)
    guardian = await Guardian.select().first()
    assert guardian["phone"] == "+31201234567" and guardian["email"] == "eva@example.org"
    assert "Eva de Wit" in (await client.get(f"/patients/{child}")).text
    removed = await post_form(client, f"/patients/{child}/guardians/{guardian['id']}/remove")
    assert removed.status_code == 303 and await Guardian.count() == 0


async def test_search_finds_by_name_prefix_phone_birth_date_and_id(clinic):
    wanted = await factories.make_patient(clinic, given_name="Mirjam", family_name="van Oosten",
                                          date_of_birth="1977-07-21", phone_mobile="+31 6 5555 1234",
                                          national_id="1112.22.333")
    await factories.make_patient(clinic, given_name="Karel", family_name="Appel", date_of_birth="1950-01-01")
    for text in ("mir", "van oost", "Oosten Mirj", "06 5555", "+316555", "0031 6555", "21.07.1977", "1977-07-21",
                 "1112223"):
        found = [r["id"] for r in await patients.search_patients(clinic, text)]
        assert found == [wanted], text
    assert await patients.search_patients(clinic, "zzz") == []


async def test_search_puts_family_names_starting_with_the_word_first(clinic):
    given = await factories.make_patient(clinic, given_name="Jan", family_name="de Boer")
    family = [await factories.make_patient(clinic, given_name=g, family_name=f)
              for g, f in (("Piet", "Jansen"), ("Anna", "Janssens"), ("Els", "Jánossy"))]
    await factories.make_patient(clinic, given_name="Karel", family_name="Appel")
    # folded, Jánossy starts with "jan" too (and sorts first)
    assert [r["id"] for r in await patients.search_patients(clinic, "jan")] == [family[2], family[0], family[1],
                                                                                given]
    assert [r["id"] for r in await patients.search_patients(clinic, "jan", limit=2)] == [family[2], family[0]]
    # words the family-name range cannot bound (non-ASCII, a last z) are found by the general search alone
    assert [r["id"] for r in await patients.search_patients(clinic, "jáno")] == [family[2]]
    liz = await factories.make_patient(clinic, given_name="Liz", family_name="Quartz")
    assert [r["id"] for r in await patients.search_patients(clinic, "quartz")] == [liz]


async def test_typeahead_returns_a_fragment_and_audits_each_patient_shown(client, clinic):
    patient_id = await factories.make_patient(clinic, given_name="Quirine")
    await sign_in_as(client, clinic)
    response = await client.get("/patients/search", params={"q": "quir"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Quirine" in response.text and "<html" not in response.text
    assert response.headers["vary"].startswith("HX-Request")
    full = await client.get("/patients/search", params={"q": "quir"})
    assert "<html" in full.text
    # each search leaves a row naming the patients it showed; the patient's own log has the day's first sight
    shown = await AuditEntry.select(AuditEntry.detail).where((AuditEntry.action == "patient.searched")
                                                              & (AuditEntry.object_type == "patient_list"))
    assert [json.loads(r["detail"])["patients"] for r in shown] == [[patient_id], [patient_id]]
    assert await AuditEntry.count().where((AuditEntry.action == "patient.searched")
                                          & (AuditEntry.patient_id == patient_id)) == 1


async def test_search_never_crosses_clinics(clinic, other_clinic):
    await factories.make_patient(other_clinic, given_name="Hidden")
    assert await patients.search_patients(clinic, "hidden") == []


async def test_list_pages_through_patients(client, clinic):
    for i in range(patients.PAGE_SIZE + 3):
        await Patient.insert(Patient(clinic=clinic.clinic_id, given_name="P", family_name=f"N{i:03d}",
                                     date_of_birth=date(1980, 1, 1)))
    await sign_in_as(client, clinic)
    first = await client.get("/patients")
    assert first.text.count("/patients/") >= patients.PAGE_SIZE and "?page=2" in first.text
    second = await client.get("/patients", params={"page": 2})
    assert "N052" in second.text and "N000" not in second.text


@pytest.mark.parametrize(("country", "typed", "stored"), [
    ("NL", "1112.22.333", "111222333"), ("NL", "123456782", "123456782"), ("TR", "10000000146", "10000000146"),
    ("SG", "s1234567d", "S1234567D"), ("GB", "", "")])
def test_a_national_id_is_stored_in_its_countrys_form(country, typed, stored):
    assert patient_fields.national_id(typed, country) == stored


@pytest.mark.parametrize(("country", "typed", "problem"), [
    ("NL", "123", "This is not a valid BSN"), ("NL", "123456789", "fails its check digit"),
    ("TR", "10000000147", "fails its check digit"), ("TR", "01234567890", "not a valid T.C. Kimlik No"),
    ("DE", "12345", "not a valid Steuer-ID")])
def test_a_national_id_that_cannot_be_right_is_refused(country, typed, problem):
    with pytest.raises(patient_fields.FieldProblem, match=problem):
        patient_fields.national_id(typed, country)


async def test_staff_see_the_id_problem_beside_the_field(client, clinic):
    await sign_in_as(client, clinic)
    form = {"given_name": "Sara", "family_name": "Bos", "date_of_birth": "1990-01-01", "national_id": "123"}
    refused = await post_form(client, "/patients", form)
    assert refused.status_code == 422 and "This is not a valid BSN" in refused.text and 'value="123"' in refused.text


async def test_search_and_sort_ignore_case_and_diacritics(client, clinic):
    zoe = await factories.make_patient(clinic, given_name="Zoë", family_name="Çelik", date_of_birth="1981-04-26")
    boer = await factories.make_patient(clinic, given_name="Jan", family_name="de Boer")
    yilmaz = await factories.make_patient(clinic, given_name="Ayşe", family_name="Yilmaz")
    for text in ("zoe", "ZOË", "celik", "Çel", "26-04-1981", "26/04/1981"):
        assert [r["id"] for r in await patients.search_patients(clinic, text)] == [zoe], text
    assert [r["id"] for r in await patients.search_patients(clinic, "ayse yil")] == [yilmaz]
    rows, _ = await patients.list_patients(clinic)
    assert [r["id"] for r in rows] == [zoe, boer, yilmaz]  # c, d, y: not "Yilmaz" before "de Boer"
    await sign_in_as(client, clinic)
    page = await client.get("/patients/search?q=zoe")
    assert 'value="zoe"' in page.text and 'hx-replace-url="true"' in page.text and "Çelik" in page.text
