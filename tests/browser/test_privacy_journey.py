"""A patient on a 390x844 phone uses every right; staff decide in a second browser; the rows are checked."""

import json
import zipfile
from datetime import date, timedelta

import jsonschema
from playwright.async_api import Page, expect

from portal import consents, patients
from portal.consents import ConsentKind
from portal.tables import ConsentEvent, Guardian, Patient, PrivacyRequest
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS
from tests.privacy_helpers import link_path, wait_for_mail

PATIENT_PAGES = ("/privacy/me", "/privacy/me/consents", "/privacy/me/contact", "/privacy/me/correction",
                 "/privacy/me/ask/erasure", "/privacy/me/questions", "/privacy/me/requests", "/privacy/me/notice",
                 "/privacy/schema/about")


async def _no_sideways_scroll(page: Page, url: str) -> None:
    overflow = await sideways_overflow(page)
    assert overflow <= 1, f"{url} scrolls sideways by {overflow}px"


async def _decide(staff: Page, kind_label: str, button: str) -> None:
    await staff.goto("/privacy-requests")
    await staff.get_by_role("link", name=kind_label).first.click()
    if kind_label == "Erasure":
        await staff.get_by_label("How you confirmed the patient's identity", exact=False).fill("Passport seen")
    await staff.get_by_role("button", name=button).click()
    await expect(staff.get_by_text("Approved", exact=False).first).to_be_visible()


async def test_patient_uses_every_right_on_a_phone(phone: Page, tablet: Page, clinic, cal, mailbox):
    patient_id = await factories.make_patient(clinic, given_name="Eva", family_name="Jansen",
                                              email="eva@example.org", date_of_birth="1980-02-03")
    await patients.add_guardian(clinic, patient_id, patients.GuardianForm(name="Partner", email="p@example.org"))
    await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=5)).isoformat(), "10:00")
    ARTIFACTS.mkdir(exist_ok=True)

    # Sign in with the link read from the real SMTP server.
    await phone.goto("/privacy")
    await _no_sideways_scroll(phone, "/privacy")
    await phone.get_by_label("Email address").fill("eva@example.org")
    await phone.get_by_label("Date of birth").fill("1980-02-03")
    await phone.get_by_role("button", name="Email me a sign-in link").click()
    await expect(phone.get_by_role("heading", name="Check your email")).to_be_visible()
    message = (await wait_for_mail(mailbox, "eva@example.org"))[0]
    await phone.goto(link_path(message))
    await phone.get_by_role("button", name="Continue").click()
    await expect(phone.get_by_role("heading", name="Data held about Eva Jansen")).to_be_visible()
    await expect(phone.get_by_role("heading", name="Who accessed your record")).to_be_visible()
    await phone.screenshot(path=str(ARTIFACTS / "privacy-me-390.png"), full_page=True)
    for url in PATIENT_PAGES:
        await phone.goto(url)
        await _no_sideways_scroll(phone, url)

    # Download the ZIP (built by a worker, progress polled by the page) and validate its JSON.
    await phone.goto("/privacy/me")
    await phone.get_by_role("button", name="Download all my data").click()
    await expect(phone.locator('[hx-trigger="every 1s"]')).to_be_attached()
    await factories.run_queued_jobs("exports")  # the worker's part, with procrastinate's own worker
    link = phone.get_by_role("button", name="Download the ZIP")
    await expect(link).to_be_visible(timeout=15000)
    async with phone.expect_download() as info:
        await link.click()
    download = await info.value
    with zipfile.ZipFile(await download.path()) as archive:
        document = json.loads(archive.read("export.json"))
        assert "csv/appointments.csv" in archive.namelist() and "summary.html" in archive.namelist()
    schema = await (await phone.request.get("/privacy/schema")).json()
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["categories"]["identity"]["records"][0]["family_name"] == "Jansen"

    # Ask for a correction; staff approve it in a second browser.
    await phone.goto("/privacy/me/correction")
    await phone.get_by_label("Which record").select_option(label="Family name")
    await phone.get_by_label("What it should say").fill("Janssen")
    await phone.get_by_label("Why (optional)").fill("Two s")
    await phone.get_by_role("button", name="Send the request").click()
    await expect(phone.locator("#request-status")).to_have_text("Received")
    await sign_in(tablet, "owner@canal-dental.test", factories.PASSWORD)
    await tablet.goto("/privacy-requests")
    await tablet.screenshot(path=str(ARTIFACTS / "privacy-inbox-768.png"), full_page=True)
    await _decide(tablet, "Correction", "Approve and apply")
    assert (await Patient.select(Patient.family_name).where(Patient.id == patient_id)
            .first())["family_name"] == "Janssen"
    await phone.reload()
    await expect(phone.locator("#request-status")).to_have_text("Approved")

    # Toggle a consent: takes effect at once and the ledger shows the row.
    await phone.goto("/privacy/me/consents")
    await phone.get_by_role("switch", name="Appointment reminders by SMS").click()
    await expect(phone.get_by_role("switch", name="Appointment reminders by SMS")).to_have_attribute(
        "aria-checked", "true")
    await expect(phone.locator(".ledger tbody tr").first).to_contain_text("in the privacy centre")
    assert await consents.may_contact(patient_id, ConsentKind.REMINDER_SMS)
    await phone.screenshot(path=str(ARTIFACTS / "privacy-consents-390.png"), full_page=True)

    # Ask for erasure; staff approve; then the rows: administrative data gone, clinical record isolated.
    await phone.goto("/privacy/me/ask/erasure")
    await phone.get_by_role("button", name="Erase my data").click()
    await expect(phone.locator("#request-status")).to_have_text("Received")
    await _decide(tablet, "Erasure", "Approve and erase")
    row = await Patient.select().where(Patient.id == patient_id).first()
    assert (row["email"], row["phone_mobile"], row["address"]) == ("", "", "")
    assert row["isolated_at"] is not None and row["restricted_at"] is not None
    assert await Guardian.count() == 0 and await ConsentEvent.count() == 0
    assert (await PrivacyRequest.select(PrivacyRequest.status).where(PrivacyRequest.kind == "erasure").first()
            )["status"] == "approved"
    await tablet.goto("/patients")
    await expect(tablet.get_by_text("Janssen")).to_have_count(0)
    await tablet.goto("/privacy-settings")
    await tablet.screenshot(path=str(ARTIFACTS / "privacy-settings-768.png"), full_page=True)
    await phone.goto("/privacy/me")
    await expect(phone.get_by_role("heading", name="Your data, your choices")).to_be_visible()
