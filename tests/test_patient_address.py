"""A patient's address in parts: street, postcode, city and country, the postcode checked per country."""

import importlib

import pytest

from portal import patient_fields
from portal.db import run_sql
from portal.errors import ValidationFailed
from portal.tables import Patient
from tests import factories
from tests.factories import post_form, sign_in_as

ADDRESS_MIGRATION = importlib.import_module("portal.migrations.portal_2026_12_02t04_00_00_000000")
FORM = {"given_name": "Sofia", "family_name": "de Wit", "date_of_birth": "1990-02-03", "address": "Damrak 1",
        "postcode": "1012lg", "city": "Amsterdam", "country": "NL", "preferred_language": "nl"}


@pytest.mark.parametrize("country, typed, stored", [
    ("NL", "1012lg", "1012 LG"), ("NL", " 1012 LG ", "1012 LG"), ("DE", "10115", "10115"),
    ("TR", "34710", "34710"), ("TR", "06100", "06100"), ("GB", "sw1a1aa", "SW1A 1AA"), ("FR", "75001", "75001"),
])
def test_a_postcode_is_stored_in_its_countrys_written_form(country, typed, stored):
    assert patient_fields.postcode(typed, country) == stored


@pytest.mark.parametrize("country, typed", [
    ("NL", "0123 AB"), ("NL", "1012"), ("DE", "1011"), ("DE", "1011A"), ("TR", "99100"), ("TR", "3471"),
])
def test_a_postcode_that_does_not_fit_its_country_is_refused(country, typed):
    with pytest.raises(patient_fields.FieldProblem, match="postcode"):
        patient_fields.postcode(typed, country)


def test_the_postcode_follows_the_address_country_and_else_the_clinics():
    assert patient_fields.clean({"postcode": "10115", "country": "DE"}, "NL")["postcode"] == "10115"
    with pytest.raises(ValidationFailed) as refused:
        patient_fields.clean({"postcode": "10115", "country": ""}, "NL")
    assert "1012 AB" in refused.value.errors["postcode"]


async def test_staff_enter_and_see_the_address_in_parts(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/patients", FORM)
    assert response.status_code == 303
    row = await Patient.select(Patient.address, Patient.postcode, Patient.city, Patient.country).first()
    assert row == {"address": "Damrak 1", "postcode": "1012 LG", "city": "Amsterdam", "country": "NL"}
    page = await client.get(response.headers["location"])
    assert "1012 LG Amsterdam" in page.text and "Netherlands" in page.text
    edit = await client.get(response.headers["location"] + "/edit")
    assert 'value="1012 LG"' in edit.text and 'value="Amsterdam"' in edit.text


async def test_a_wrong_postcode_is_refused_beside_the_field_with_what_was_typed(client, clinic):
    await sign_in_as(client, clinic)
    refused = await post_form(client, "/patients", {**FORM, "postcode": "90100", "country": "TR", "city": "Ankara"})
    assert refused.status_code == 422
    assert "Enter a postcode written like 34710." in refused.text and 'value="Ankara"' in refused.text
    assert await Patient.count() == 0


async def test_old_free_text_addresses_are_split_where_they_can_be_read(clinic):
    readable = await factories.make_patient(clinic, given_name="Ada")
    other = await factories.make_patient(clinic, given_name="Bo")
    await Patient.update({Patient.address: "Dam 1, 1012ab Amsterdam"}).where(Patient.id == readable)
    await Patient.update({Patient.address: "Behind the church, Volendam"}).where(Patient.id == other)
    await run_sql(ADDRESS_MIGRATION.SQL)  # the migration's own split, run again over rows written the old way
    rows = {r["id"]: r for r in await Patient.select(Patient.id, Patient.address, Patient.postcode, Patient.city,
                                                       Patient.country)}
    assert rows[readable] == {"id": readable, "address": "Dam 1", "postcode": "1012 AB", "city": "Amsterdam",
                              "country": "NL"}
    assert rows[other] == {"id": other, "address": "Behind the church, Volendam", "postcode": "", "city": "",
                           "country": ""}
