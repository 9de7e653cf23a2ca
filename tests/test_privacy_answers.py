"""Answers as the law wants them: a refusal gives its reasons, names the supervisory authority and the right to
a judicial remedy (Art. 12(4)), in the patient's language; each clinic sets its authority, with a default."""

import pytest

from portal.privacy import authority
from portal.tables import PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import sign_in_patient, wait_for_mail


async def _refused(client, other_client, clinic, mailbox, **fields):
    values = {"email": "rik@example.org", "date_of_birth": "1975-09-09", **fields}
    await factories.make_patient(clinic, **values)
    await sign_in_patient(client, mailbox, values["email"], values["date_of_birth"])
    await post_form(client, "/privacy/me/ask/objection", {"reason": "No newsletters"})
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await sign_in_as(other_client, clinic)
    refused = await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                              {"decision": "refused", "reason": "We send no newsletters; reminders are care."})
    assert refused.status_code == 303
    return request_id, body_text((await wait_for_mail(mailbox, values["email"], 2))[-1])


async def test_a_refusal_names_the_authority_and_the_right_to_a_court(client, other_client, clinic, mailbox):
    request_id, mail = await _refused(client, other_client, clinic, mailbox)
    assert "We send no newsletters" in mail
    assert "Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl)" in mail  # the NL default
    assert "judicial remedy" in mail
    page = await client.get(f"/privacy/me/requests/{request_id}")
    assert "Autoriteit Persoonsgegevens" in page.text and "judicial remedy" in page.text


async def test_a_dutch_patient_reads_the_refusal_in_dutch(client, other_client, clinic, mailbox):
    _, mail = await _refused(client, other_client, clinic, mailbox, preferred_language="nl")
    assert "afgewezen" in mail and "rechter" in mail and "Autoriteit Persoonsgegevens" in mail


async def test_the_owner_sets_the_authority_and_bad_input_stays_beside_the_field(client, other_client, clinic,
                                                                                mailbox):
    await sign_in_as(other_client, clinic)
    page = await other_client.get("/privacy-settings")
    assert 'value="Autoriteit Persoonsgegevens"' in page.text
    bad = await post_form(other_client, "/privacy-settings/authority",
                          {"authority": "Landesbeauftragte", "authority_url": "lda.example"})
    assert bad.status_code == 422 and 'id="e-authority_url"' in bad.text and 'value="Landesbeauftragte"' in bad.text
    ok = await post_form(other_client, "/privacy-settings/authority",
                         {"authority": "De Rijdende Rechter", "authority_url": "https://example.nl"})
    assert ok.status_code == 303
    _, mail = await _refused(client, other_client, clinic, mailbox)
    assert "De Rijdende Rechter (https://example.nl)" in mail


@pytest.mark.parametrize("country", sorted(authority.DEFAULTS))
async def test_every_country_of_the_demo_has_a_default(country):
    owner = await factories.make_clinic(f"Clinic {country}", country=country)
    found = await authority.authority_of(owner.clinic_id)
    assert found.authority and found.authority_url.startswith("https://")
