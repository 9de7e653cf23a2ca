"""Two journeys in the reader's own language: a Dutch receptionist books and checks in a patient on a tablet, and
a Turkish patient reads what the clinic holds and asks for an export on a 390 px phone. Both check the visible
text, in the language and free of the English it replaced."""

import re

from playwright.async_api import Page, expect

from portal.permissions import Role
from portal.tables import Staff
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.browser.test_front_desk_journey import _midday_zone
from tests.conftest import ARTIFACTS
from tests.privacy_helpers import link_path, wait_for_mail

# English the staff pages of this journey would show if a string escaped translation (names and data aside).
STAFF_ENGLISH = ("Good day", "Today at the front desk", "Expected next", "Waiting", "Nobody", "Book an appointment",
                 "Next free", "Close", "Provider", "Notes for the front desk", "Sign out", "Calendar", "Patients",
                 "Arrived", "Seat", "Nothing booked", "Booked", "Previous day", "Next day", "Appointments by chair",
                 "Go to date", "Search patients", "Coming", "Earlier", "Details", "Date of birth", "Length")
# English the privacy centre would show: its own words and the registry's titles, purposes and legal bases.
PATIENT_ENGLISH = ("Data held about", "Download all my data", "Why", "Legal basis", "Shared with", "Erasable",
                   "Identity", "Contact details", "Appointments", "Who accessed your record", "Consents",
                   "Your data", "Sign out", "Preparing your download", "Download the ZIP", "Available until",
                   "after the end of treatment", "health care", "treatment agreement", "records")


async def _no_english(page: Page, phrases: tuple[str, ...]) -> None:
    text = await page.locator("body").inner_text()
    found = [p for p in phrases if re.search(rf"\b{re.escape(p)}\b", text)]
    assert not found, f"{page.url} still shows English: {found}"


async def test_a_dutch_receptionist_books_and_checks_in_without_a_word_of_english(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Noon Dental", time_zone=_midday_zone())
    await factories.make_calendar(clinic)
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    await Staff.update({Staff.language: "nl"}).where(Staff.id == reception.id)
    kees = await factories.make_patient(clinic, given_name="Kees", family_name="Mulder")

    await page.goto("/login")  # the sign-in page follows the browser (English); Rita's own language follows
    await page.get_by_label("Email").fill(await factories.email_of(reception))
    await page.get_by_label("Password").fill(factories.PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Goedendag, Rita")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "nl")
    await expect(page.locator("#today").get_by_role("heading", name="Verwacht")).to_be_visible()
    await _no_english(page, STAFF_ENGLISH)

    await page.goto(f"/patients/{kees}")
    appointments = page.locator("#appointments")
    await expect(appointments.get_by_text("Niets ingepland.")).to_be_visible()
    await _no_english(page, STAFF_ENGLISH)
    await appointments.get_by_role("button", name="Inplannen").tap()
    dialog = page.locator("dialog[open]")
    await expect(dialog.get_by_role("heading", name="Een afspraak maken")).to_be_visible()
    await expect(dialog.get_by_text("Notities voor de balie")).to_be_visible()
    await dialog.locator("#f-appointment_type_id").select_option(label="Check-up (30 min)")
    await dialog.locator("#f-provider_id").select_option(label="Dr. Dekker")
    await dialog.locator("#f-chair_id").select_option(label="Chair 1")
    await dialog.locator("#f-time").fill("14:00")
    await _no_english(page, STAFF_ENGLISH)
    await dialog.get_by_role("button", name="Inplannen", exact=True).tap()
    await expect(page.locator(".cal-appt", has_text="14:00 Kees Mulder")).to_be_visible()
    await expect(page.get_by_role("link", name="Dag", exact=True)).to_be_visible()
    await _no_english(page, STAFF_ENGLISH)

    await page.goto("/")
    board = page.locator("#today")
    await board.get_by_role("button", name="Aangekomen: Kees Mulder").first.tap()
    waiting = page.locator("#today article", has=page.get_by_role("heading", name="Wachtend"))
    await expect(waiting.get_by_text("Kees Mulder")).to_be_visible()
    await expect(waiting.get_by_text("Wachtend, 0 min")).to_be_visible()
    await _no_english(page, STAFF_ENGLISH)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "front-desk-nl-768.png"), full_page=True)
    await page.goto(f"/patients/{kees}")
    await expect(page.locator("#appointments").get_by_text("Aangekomen")).to_be_visible()


async def test_a_turkish_patient_reads_her_data_and_asks_for_an_export_on_a_phone(phone: Page, clinic, mailbox):
    await factories.make_patient(clinic, given_name="Elif", family_name="Yılmaz", email="elif@example.org",
                                 date_of_birth="1985-04-12", preferred_language="tr")
    await phone.goto("/privacy?lang=tr")
    await expect(phone.locator("html")).to_have_attribute("lang", "tr")
    await phone.get_by_label("E-posta adresi").fill("elif@example.org")
    await phone.get_by_label("Doğum tarihi").fill("1985-04-12")
    await phone.get_by_role("button", name="Bana giriş bağlantısı gönder").click()
    await expect(phone.get_by_role("heading", name="E-postanızı kontrol edin")).to_be_visible()
    message = (await wait_for_mail(mailbox, "elif@example.org"))[0]
    await phone.goto(link_path(message))
    await phone.get_by_role("button", name="Devam").click()

    await expect(phone.get_by_role("heading", name="Elif Yılmaz hakkında tutulan veriler")).to_be_visible()
    await expect(phone.get_by_role("heading", name="Kimlik", exact=True)).to_be_visible()
    await expect(phone.get_by_role("heading", name="Kaydınıza kimler erişti")).to_be_visible()
    await phone.get_by_text("Bu veriler hakkında").first.click()  # the facts of each kind fold on a phone
    await expect(phone.get_by_text("Hukuki dayanak").first).to_be_visible()
    assert await sideways_overflow(phone) <= 1
    await _no_english(phone, PATIENT_ENGLISH)
    ARTIFACTS.mkdir(exist_ok=True)
    await phone.screenshot(path=str(ARTIFACTS / "privacy-me-tr-390.png"), full_page=True)

    await phone.get_by_role("button", name="Tüm verilerimi indir").click()
    await expect(phone.get_by_text("İndirmeniz hazırlanıyor…")).to_be_visible()
    await factories.run_queued_jobs("exports")
    await expect(phone.get_by_role("button", name="ZIP dosyasını indir")).to_be_visible(timeout=15000)
    await expect(phone.get_by_text("tarihine kadar kullanılabilir.")).to_be_visible()
    assert await sideways_overflow(phone) <= 1
    await _no_english(phone, PATIENT_ENGLISH)
