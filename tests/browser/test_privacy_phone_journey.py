"""Every privacy-centre page on a 390 px phone: the document is never wider than the screen and no table is cut
off (a table in a scroll box that runs past the right edge counts as cut off too); the centre speaks plainly."""

from playwright.async_api import Page, expect

from portal import consents
from portal.consents import ConsentKind
from tests import factories
from tests.browser.test_privacy_journey import PATIENT_PAGES
from tests.privacy_helpers import link_path, wait_for_mail

WIDEST_JS = """() => {
  const tables = [...document.querySelectorAll('table')].map(t => Math.ceil(t.getBoundingClientRect().right));
  return {scroll: document.documentElement.scrollWidth, tables: tables};
}"""


async def test_every_privacy_page_fits_a_390_px_phone(phone: Page, clinic, cal, mailbox):
    patient_id = await factories.make_patient(clinic, given_name="Noor", family_name="Smalscherm",
                                              email="noor@example.org", date_of_birth="1992-03-04")
    for kind in (ConsentKind.REMINDER_EMAIL, ConsentKind.REMINDER_SMS, ConsentKind.MARKETING_EMAIL):
        await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                     consents.ConsentChange(kind, True, "front_desk"))
    await factories.make_chart_records(clinic, cal["dentist"], patient_id)

    await phone.goto("/privacy")
    await phone.get_by_label("Email address").fill("noor@example.org")
    await phone.get_by_label("Date of birth").fill("1992-03-04")
    await phone.get_by_role("button", name="Email me a sign-in link").click()
    await expect(phone.get_by_role("heading", name="Check your email")).to_be_visible()
    await phone.goto(link_path((await wait_for_mail(mailbox, "noor@example.org"))[0]))
    await phone.get_by_role("button", name="Continue").click()
    await expect(phone.get_by_role("heading", name="Data held about Noor Smalscherm")).to_be_visible()
    measured = {}
    for url in PATIENT_PAGES:
        await phone.goto(url)
        widths = await phone.evaluate(WIDEST_JS)
        measured[url] = widths
        assert widths["scroll"] <= 390, f"{url} is {widths['scroll']} px wide"
        assert all(right <= 390 for right in widths["tables"]), f"{url}: a table ends at {widths['tables']} px"
    assert measured["/privacy/me/consents"]["tables"]  # the ledger was measured, not absent
    await phone.goto("/privacy/me/consents")
    ledger = phone.locator("table.ledger td[data-label]").first
    await expect(ledger).to_be_visible()
    await expect(phone.get_by_text("at the front desk").first).to_be_visible()

    # A correction picks the record it concerns (a select grouped by kind), and the request names it in words.
    await phone.goto("/privacy/me/correction")
    await phone.get_by_label("Which record").select_option(label="Tooth 36")
    await phone.get_by_label("What it should say").fill("The crown is on 46, not 36")
    await phone.get_by_role("button", name="Send the request").click()
    await expect(phone.locator("#request-status")).to_have_text("Received")
    await expect(phone.get_by_text("Tooth 36", exact=True)).to_be_visible()
    assert (await phone.evaluate(WIDEST_JS))["scroll"] <= 390
