"""The channels on a tablet (768 px): the owner connects the clinic's Facebook Page (stand-in Graph API), a lead-ads
lead arrives by the signed webhook and the receptionist registers it as a patient, the patient's email reply comes
in through the routed inbound webhook at their conversation's reply address, and the receptionist answers from the
messages page: the answer is checked where it lands, at the SMTP server, carrying the reply address again."""

import hashlib
import hmac
import json
import time
from dataclasses import replace

import httpx
import pytest
from playwright.async_api import expect

from portal.messaging import outbox, reply_addresses
from portal.permissions import Role
from portal.tables import Lead, Patient
from tests import factories
from tests.browser.accessibility import watch as accessibility_watch
from tests.browser.conftest import portal_process, watched_context
from tests.browser.test_foundation_journey import sign_in, sign_out
from tests.conftest import ARTIFACTS
from tests.mail_sink import body_text
from tests.meta_stub import APP_ID, APP_SECRET, PAGE_ID, PAGE_NAME, MetaStub

DOMAIN, MAIL_KEY = "reply.channels.example", "journey-mail-key"


@pytest.fixture(scope="module")
def meta():
    stub = MetaStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def channels_server(meta):
    """A portal process with social leads and routed email on (the shared live server has them off)."""
    with portal_process("channels-server.log", META_APP_ID=APP_ID, META_APP_SECRET=APP_SECRET,
                        META_GRAPH_URL=meta.url, INBOUND_MAIL_DOMAIN=DOMAIN, MAIL_WEBHOOK_SIGNING_KEY=MAIL_KEY) as base:
        yield base


@pytest.fixture
async def page(browser, channels_server, browser_problems):
    context = await watched_context(browser, browser_problems, viewport={"width": 768, "height": 1024},
                                    has_touch=True, base_url=channels_server)
    tab = await context.new_page()
    accessibility = accessibility_watch(tab)
    yield tab
    await accessibility.finish()
    await context.close()


def _leadgen(leadgen_id: str) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": 1764489600, "changes": [{
        "field": "leadgen", "value": {"leadgen_id": leadgen_id, "page_id": PAGE_ID, "form_id": "555",
                                      "created_time": 1764489600}}]}]}).encode()


def _mail_signature() -> dict:
    stamp, token = str(int(time.time())), hashlib.sha256(str(time.perf_counter_ns()).encode()).hexdigest()[:50]
    return {"timestamp": stamp, "token": token,
            "signature": hmac.new(MAIL_KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()}


async def test_a_facebook_lead_becomes_a_patient_who_writes_back_and_is_answered(
        page, channels_server, meta, mailbox, settings):
    owner = await factories.make_clinic("Channel Dental")
    reception = await factories.make_staff(owner, Role.RECEPTIONIST, name="Rita")
    meta.add_lead("900100200", {"full_name": "Lotte Jansen", "email": "lotte@example.org",
                                "phone_number": "+31612340077", "treatment": "Whitening"})

    await sign_in(page, await factories.email_of(owner), factories.PASSWORD)
    await page.goto("/settings/social")
    await page.get_by_role("button", name="Connect with Facebook").tap()  # to the dialog and back with a code
    await expect(page.get_by_text(f"Connected to the Page {PAGE_NAME}")).to_be_visible()
    assert meta.subscribed == {PAGE_ID: "leadgen"}
    await sign_out(page)

    async with httpx.AsyncClient(base_url=channels_server) as meta_posts:
        body = _leadgen("900100200")
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        arrived = await meta_posts.post("/webhooks/meta", content=body, headers={
            "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
        assert arrived.status_code == 200

    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)
    await page.goto("/leads")
    lead = page.locator("article", has_text="Lotte Jansen")
    await expect(lead.get_by_text("Lead form on Facebook")).to_be_visible()
    await expect(lead.get_by_text("Whitening")).to_be_visible()
    await lead.get_by_label("Date of birth").fill("1990-04-12")
    await lead.get_by_role("button", name="Register as patient").tap()
    await expect(page.get_by_role("heading", name="Lotte Jansen")).to_be_visible()
    patient_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert (await Lead.select(Lead.patient).first())["patient"] == patient_id
    # The email address from the form waits for confirmation: Lotte shows her passport at the desk.
    changes = page.locator("#contact-changes")
    await changes.get_by_label("Identity document checked in person").select_option("passport")
    await changes.get_by_role("button", name="Confirm in person").tap()
    await expect(page.get_by_text("No address is waiting for confirmation.")).to_be_visible()
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == \
        "lotte@example.org"

    routed = replace(settings, inbound_mail_domain=DOMAIN, mail_webhook_signing_key=MAIL_KEY)
    reply_to = reply_addresses.reply_address(routed, owner.clinic_id, patient_id)
    async with httpx.AsyncClient(base_url=channels_server) as mail_provider:
        posted = await mail_provider.post("/webhooks/mail", data={
            "recipient": reply_to, "sender": "lotte@example.org", "from": "Lotte Jansen <lotte@example.org>",
            "subject": "Whitening appointment", "body-plain": "Could I come on a Friday afternoon?",
            "Message-Id": "<lotte-1@example.org>", **_mail_signature()})
        assert posted.status_code == 200

    await page.goto(f"/patients/{patient_id}/messages")
    await expect(page.get_by_text("Could I come on a Friday afternoon?")).to_be_visible()
    await page.get_by_label("Reply by email").fill("Friday 14:00 is free, shall we book it?")
    await page.get_by_role("button", name="Send email").tap()
    await expect(page.get_by_text("Friday 14:00 is free, shall we book it?")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "channels-messages-768.png"), full_page=True)

    mailbox.clear()
    assert await outbox.deliver_due(routed) >= 1  # the worker's delivery, here in the test process
    [answer] = mailbox.to("lotte@example.org")
    assert answer["Subject"] == "Re: Whitening appointment"
    assert answer["Reply-To"] == reply_to  # her next reply threads into the same conversation
    assert "Friday 14:00 is free" in body_text(answer)
