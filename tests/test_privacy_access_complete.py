"""Access (Art. 15) is complete and no more than complete: every message sent to the patient's addresses,
request details only for those who may read the chart, old sign-in links ended, long text refused, not cut."""

import io
import zipfile

from portal import db
from portal.permissions import Role
from portal.privacy import erasure, export
from portal.tables import DataExport, PrivacyRequest
from tests import factories
from tests.factories import csrf_token, post_form, sign_in_as
from tests.privacy_helpers import link_path, request_link, sign_in_patient, wait_for_mail


async def _signed_in(client, clinic, mailbox) -> int:
    patient_id = await factories.make_patient(clinic, given_name="Mila", family_name="Visser",
                                              email="mila@example.org", date_of_birth="1990-06-01")
    await sign_in_patient(client, mailbox, "mila@example.org", "1990-06-01")
    return patient_id


async def test_messages_sent_to_the_patients_address_without_an_id_are_shown_and_exported(client, clinic, mailbox):
    await _signed_in(client, clinic, mailbox)
    await post_form(client, "/privacy/me/questions", {"question": "Who sees my X-rays?"})
    page = await client.get("/privacy/me")
    section = page.text.split('id="messages"', 1)[1].split("</article>", 1)[0]
    assert "Nothing held" not in section and "mila@example.org" in section  # the sign-in link mail
    start = await post_form(client, "/privacy/me/export")
    await export.build_export(int(start.headers["location"].rsplit("/", 1)[1]))
    row = await DataExport.select(DataExport.archive).first()
    archive = zipfile.ZipFile(io.BytesIO(bytes(row["archive"])))
    assert "mila@example.org" in archive.read("csv/messages.csv").decode()


async def test_a_receptionist_sees_that_a_clinical_correction_was_asked_not_what(client, other_client, clinic,
                                                                                   mailbox):
    await _signed_in(client, clinic, mailbox)
    asked = await post_form(client, "/privacy/me/correction", {"target": "medical_history.allergies",
                                                                "proposed": "Penicillin, not latex"})
    assert asked.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)
    shown = await other_client.get(f"/privacy-requests/{request_id}")
    assert shown.status_code == 200 and "Medical history" in shown.text
    assert "Penicillin" not in shown.text and "Allergies" not in shown.text
    refused = await post_form(other_client, f"/privacy-requests/{request_id}/decide", {"decision": "approved"})
    assert refused.status_code == 422 and "read the chart" in refused.text and "Penicillin" not in refused.text
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "received"
    await sign_in_as(other_client, clinic)  # the owner reads the chart
    assert "Penicillin" in (await other_client.get(f"/privacy-requests/{request_id}")).text


async def test_the_requests_of_an_isolated_record_stay_with_the_owner(client, other_client, clinic, mailbox):
    patient_id = await _signed_in(client, clinic, mailbox)
    await post_form(client, "/privacy/me/questions", {"question": "Do you sell my data?"})
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    async with db.transaction():
        await erasure.carry_out(clinic, patient_id)
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)
    assert "Do you sell" not in (await other_client.get("/privacy-requests?show=all")).text
    assert (await other_client.get(f"/privacy-requests/{request_id}")).status_code == 404
    refused = await post_form(other_client, f"/privacy-requests/{request_id}/decide", {"reason": "No."})
    assert refused.status_code == 404
    await sign_in_as(other_client, clinic)
    assert (await other_client.get(f"/privacy-requests/{request_id}")).status_code == 200


async def test_a_newer_link_or_a_sign_in_ends_the_older_links(client, other_client, clinic, mailbox):
    await factories.make_patient(clinic, email="links@example.org", date_of_birth="1980-02-03")
    await request_link(client, "links@example.org", "1980-02-03")
    await request_link(client, "links@example.org", "1980-02-03")
    first, second = [link_path(m) for m in await wait_for_mail(mailbox, "links@example.org", 2)]
    token = await csrf_token(other_client)
    assert (await other_client.post(first, data={"_csrf_token": token})).status_code == 410
    await request_link(client, "links@example.org", "1980-02-03")
    third = link_path((await wait_for_mail(mailbox, "links@example.org", 3))[-1])
    assert (await other_client.post(third, data={"_csrf_token": token})).status_code == 303
    assert (await client.post(second, data={"_csrf_token": await csrf_token(client)})).status_code == 410


async def test_over_long_text_is_refused_beside_the_field_not_cut(client, clinic, mailbox):
    await _signed_in(client, clinic, mailbox)
    question = "Why? " * 4000  # 20,000 characters
    refused = await post_form(client, "/privacy/me/questions", {"question": question})
    assert refused.status_code == 422 and 'id="e-question"' in refused.text
    assert question.strip() in refused.text  # what was typed comes back whole
    reason = "x" * 2500
    refused = await post_form(client, "/privacy/me/correction", {"target": "contact.address", "proposed": "Main 1",
                                                                  "reason": reason})
    assert refused.status_code == 422 and reason in refused.text
    assert await PrivacyRequest.count() == 0


async def test_the_cookie_page_names_the_privacy_centres_session_cookie(client):
    from portal.privacy import signin

    page = await client.get("/cookies")
    assert f"<code>{signin.COOKIE}</code>" in page.text and "12 hours" in page.text
