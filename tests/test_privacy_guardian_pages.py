"""A guardian signed in for a child reads about the child: headings, explanations and mail say "Sam's data", not
"your data" (the session's notion of a guardian acting for patient X is all this relies on)."""

import re
from datetime import date, timedelta
from html import unescape

from portal import patients
from portal.contacts import changes
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import privacy_mail, sign_in_patient, wait_for_mail


async def _guardian_of_sam(client, clinic, mailbox) -> int:
    born = (date.today() - timedelta(days=365 * 8)).isoformat()
    child = await factories.make_patient(clinic, given_name="Sam", family_name="Visser", email="", date_of_birth=born)
    await patients.add_guardian(clinic, child, patients.GuardianForm(name="Mia Visser", email="mia@example.org"))
    await factories.confirm_addresses(clinic, child)
    await sign_in_patient(client, mailbox, "mia@example.org", born)
    return child


async def test_a_guardians_pages_speak_of_the_child(client, clinic, mailbox):
    await _guardian_of_sam(client, clinic, mailbox)

    async def read(path: str) -> str:
        page = await client.get(path)
        assert page.status_code == 200, path
        return unescape(page.text)

    me = await read("/privacy/me")
    assert "Sam's data" in me and "My data" not in me
    assert "Download all of Sam's data" in me and "What you can do for Sam" in me
    assert "Privacy requests about Sam" in me and "Your privacy requests" not in me
    assert "Who accessed Sam's record" in me and "Who accessed your record" not in me
    erasure = await read("/privacy/me/ask/erasure")
    assert "<h1>Erase Sam's data</h1>" in erasure and "Sam's treatment record" in erasure
    assert "Your treatment record" not in erasure
    questions = await read("/privacy/me/questions")
    assert "About Sam's data" in questions and "About your data" not in questions
    assert "Ask for a correction of Sam's data" in await read("/privacy/me/correction")
    assert "Requests and questions about Sam's data" in await read("/privacy/me/requests")
    assert "Sam's consents" in await read("/privacy/me/consents")
    assert "Sam's contact details" in await read("/privacy/me/contact")


YOU = re.compile(r"\b(you|your|yours)\b", re.IGNORECASE)
ABOUT = re.compile(r'<details class="about-category">(.*?)</details>', re.DOTALL)
NAV = re.compile(r'<nav class="privacy-nav".*?</nav>', re.DOTALL)


def test_every_categorys_purpose_and_legal_basis_read_right_for_a_guardian_too():
    """The "About this data" texts are worded neutrally, so they read right for the patient and their guardian."""
    personal = {name: (str(c.purpose), str(c.legal_basis)) for name, c in CATEGORIES.items()
                if YOU.search(str(c.purpose)) or YOU.search(str(c.legal_basis))}
    assert personal == {}


async def test_every_page_a_guardian_reaches_from_the_navigation_speaks_of_the_child(client, clinic, mailbox):
    child = await _guardian_of_sam(client, clinic, mailbox)
    await factories.make_invoice(clinic, child)
    me = unescape((await client.get("/privacy/me")).text)
    [nav] = NAV.findall(me)
    assert "Sam's data" in nav and "Sam's invoices" in nav and "My " not in nav
    links = [href for href in re.findall(r'<a href="([^"]+)"', nav) if href.startswith("/privacy/me")]
    assert "/privacy/me/account/" in links or "/privacy/me/account" in links
    for href in links:
        page = await client.get(href)
        assert page.status_code == 200, href
        text = unescape(page.text)
        assert "My data" not in text and "My invoices" not in text, href
        if href != "/privacy/me/notice":  # the clinic's own notice speaks to whoever reads it, as the clinic wrote it
            assert "your data" not in text.lower(), href
        for about in ABOUT.findall(text):
            assert not YOU.search(about), (href, YOU.search(about).group(0), about)
    invoices = unescape((await client.get("/privacy/me/account/")).text)
    assert "<h1>Sam's invoices</h1>" in invoices and "My invoices" not in invoices
    assert len(ABOUT.findall(me)) == len(CATEGORIES)  # every category's "About this data" was read above


async def test_the_cooling_off_banner_names_the_child(client, clinic, mailbox):
    child = await _guardian_of_sam(client, clinic, mailbox)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    change_id = await changes.propose(desk, clinic.clinic_id, changes.Holder(child), "email", "sam@new.example",
                                      "staff_form")
    await changes.confirm_in_person(desk, child, change_id, changes.InPersonForm("passport"))
    page = unescape((await client.get("/privacy/me")).text)
    [banner] = re.findall(r'<article class="notice-banner"[^>]*id="cooling-off">(.*?)</article>', page, re.DOTALL)
    assert "Sam's contact details were changed recently" in banner and "Sam's health record" in banner
    assert not YOU.search(banner), banner


async def test_a_patient_signed_in_for_themself_still_reads_your_data(client, clinic, mailbox):
    await factories.make_patient(clinic, given_name="Eva", email="eva@example.org", date_of_birth="1980-02-03")
    await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    me = await client.get("/privacy/me")
    assert "My data" in me.text and "Download all my data" in me.text and "Your privacy requests" in me.text
    assert "Erase my data" in (await client.get("/privacy/me/ask/erasure")).text
    assert "To get in touch about appointments and care." in me.text  # the neutral purposes read right here too
    invoices = await client.get("/privacy/me/account/")
    assert "<h1>My invoices</h1>" in invoices.text and "There are no invoices addressed to you." in invoices.text


async def test_the_decision_mail_to_a_guardian_names_the_child(client, other_client, clinic, mailbox):
    await _guardian_of_sam(client, clinic, mailbox)
    asked = await post_form(client, "/privacy/me/ask/restriction", {"reason": "Until we move"})
    assert asked.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await sign_in_as(other_client, clinic)
    decided = await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                              {"decision": "refused", "reason": "We must keep sending recall letters."})
    assert decided.status_code == 303
    await wait_for_mail(mailbox, "mia@example.org", 2)
    [decision] = [m for m in privacy_mail(mailbox, "mia@example.org") if "privacy-decision" in
                  str(m["X-Chairside-Key"])]
    assert "about Sam" in str(decision["Subject"])
    assert "about Sam's data has been refused" in body_text(decision)
