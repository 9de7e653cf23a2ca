"""Marketing mail: only with consent, with RFC 8058 one-click unsubscribe whose signed token is the only key."""

from urllib.parse import urlsplit

from portal import consents
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import marketing, outbox
from portal.tables import ConsentEvent, OutboxMessage
from tests import factories
from tests.mail_sink import body_text


async def _subscribed(clinic, email: str) -> int:
    patient_id = await factories.make_patient(clinic, email=email)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    return patient_id


async def _send(clinic, settings, patient_id: int, campaign: str = "spring") -> bool:
    return await marketing.queue_marketing(clinic, settings, patient_id, campaign=campaign,
                                           subject="Spring check-ups", text="Book your check-up.")


async def test_no_marketing_without_consent(clinic, settings):
    patient_id = await factories.make_patient(clinic)
    assert await _send(clinic, settings, patient_id) is False
    assert await OutboxMessage.count() == 0


async def test_one_click_unsubscribe_withdraws_consent_in_the_ledger(client, clinic, settings, mailbox):
    patient_id = await _subscribed(clinic, "news@example.org")
    assert await _send(clinic, settings, patient_id)
    await outbox.deliver_due(settings)
    [message] = mailbox.to("news@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Sent by {clinic.clinic_name} because you agreed" in body_text(message)  # who is writing
    link = urlsplit(message["List-Unsubscribe"].strip().strip("<>")).path  # may arrive folded
    page = await client.get(link)  # a link scanner's GET changes nothing
    assert page.status_code == 200 and await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)
    response = await client.post(link, data={"List-Unsubscribe": "One-Click"})  # as a mail client posts it
    assert response.status_code == 200 and "no longer receive" in response.text
    assert not await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)
    event = await ConsentEvent.select().order_by(ConsentEvent.id, ascending=False).first()
    assert (event["actor_kind"], event["source"], event["granted"]) == ("unsubscribe", "unsubscribe_link", False)
    # A second campaign is no longer queued.
    assert await _send(clinic, settings, patient_id, "summer") is False


async def test_a_forged_or_altered_token_changes_nothing(client, clinic, settings):
    patient_id = await _subscribed(clinic, "keep@example.org")
    other_id = await _subscribed(clinic, "other@example.org")
    genuine = marketing.unsubscribe_token(settings.secret_key, clinic.clinic_id, patient_id)
    altered = genuine.replace(f".{patient_id}.", f".{other_id}.")
    for token in (altered, "1.1.forged", "nonsense", "².1.forged", "99999999999.1.forged"):
        assert (await client.post(f"/unsubscribe/{token}")).status_code == 404
        assert (await client.get(f"/unsubscribe/{token}")).status_code == 404
    assert await consents.may_contact(other_id, ConsentKind.MARKETING_EMAIL)
    assert marketing.unsubscribe_token("another secret", clinic.clinic_id, patient_id) != genuine


async def test_unsubscribing_withdraws_marketing_already_queued(client, clinic, settings, mailbox):
    patient_id = await _subscribed(clinic, "late@example.org")
    assert await _send(clinic, settings, patient_id)
    await client.post(f"/unsubscribe/{marketing.unsubscribe_token(settings.secret_key, clinic.clinic_id, patient_id)}")
    await outbox.deliver_due(settings)
    assert mailbox.to("late@example.org") == []
    assert (await OutboxMessage.select(OutboxMessage.status).first())["status"] == "withdrawn"


async def test_the_owner_sends_news_only_to_patients_who_agreed(client, clinic, settings, mailbox):
    from tests.factories import csrf_token, sign_in_as

    await _subscribed(clinic, "yes@example.org")
    await factories.make_patient(clinic, email="no@example.org")
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    bad = await client.post("/jobs/news", data={"_csrf_token": token, "name": "", "subject": "", "text": ""})
    assert bad.status_code == 422 and "Name the campaign" in bad.text
    form = {"_csrf_token": token, "name": "Spring 2027", "subject": "Spring check-ups", "text": "Book now."}
    sent = await client.post("/jobs/news", data=form)
    assert sent.status_code == 200 and "Queued for 1 patient." in sent.text
    assert "Queued for 0 patients." in (await client.post("/jobs/news", data=form)).text  # once per campaign
    await outbox.deliver_due(settings)
    assert len(mailbox.to("yes@example.org")) == 1 and mailbox.to("no@example.org") == []
