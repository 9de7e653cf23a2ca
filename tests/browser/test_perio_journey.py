"""A hygienist charts a full mouth on a tablet with the perio keypad (timed), signs, and compares with the last exam."""

import time

from playwright.async_api import Page, expect

from portal.charts import perio
from portal.permissions import Role
from portal.tables import PerioTooth
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS

KEYPAD_BUDGET_S = 240  # the aim: a full mouth in under 4 minutes of scripted input


def depth_at(n: int) -> int:
    """The depth typed at the n-th site of the probing order: mostly 2-3 mm, a 5 mm pocket now and then."""
    return 5 if n % 29 == 0 else 2 + n % 2


async def test_hygienist_charts_a_full_mouth_with_the_keypad_and_compares(tablet: Page, clinic):
    page = tablet
    hygienist = await factories.make_staff(clinic, Role.HYGIENIST, name="Sanne Hygiëniste")
    patient_id = await factories.make_patient(clinic, given_name="Lotte", family_name="Smit")
    earlier = await perio.start_exam(hygienist, patient_id)  # last year's exam: 3 mm everywhere
    for tooth in perio.teeth.PERMANENT:
        await perio.save_tooth(hygienist, patient_id, earlier, tooth,
                               perio.ToothForm(**{f"d{i}": "3" for i in range(6)}))
    await perio.sign_exam(hygienist, patient_id, earlier, perio.SignForm(stage="none"))
    await sign_in(page, await factories.email_of(hygienist), factories.PASSWORD)

    await page.goto(f"/patients/{patient_id}/perio")
    await page.get_by_role("button", name="New perio exam").tap()
    pad = page.locator("#perio-keypad")
    await expect(pad).to_be_visible()
    order = (await pad.get_attribute("data-order")).split()
    assert len(order) == 192
    keys = {d: pad.locator(f'button[data-digit="{d}"]') for d in range(10)}
    bleeding = pad.get_by_role("button", name="Bleeding on the site just typed")

    started = time.monotonic()
    for n in range(len(order)):
        await keys[depth_at(n)].tap()
        if n % 10 == 0:
            await bleeding.tap()
    await page.locator("#gm-16-0").tap()  # a recession: tap the field, switch to margins, −2
    await pad.get_by_role("button", name="Next margin is negative (recession)").tap()
    await keys[2].tap()
    await page.locator("#pd-26-0").tap()  # back to the depths on another tooth: 16 is saved on leaving
    await expect(page.locator("#perio-summary")).to_contain_text("192")
    await expect(page.locator("#perio-cursor")).to_have_text("Tooth 26 distobuccal probing depth")
    await expect(page.locator('#tooth-18 input[name="b0"]')).to_be_checked()  # B after the first depth
    keypad_seconds = time.monotonic() - started
    print(f"perio keypad: 192 depths, 20 bleeding marks and one margin in {keypad_seconds:.1f} s")
    assert keypad_seconds < KEYPAD_BUDGET_S
    await expect(page.locator("#tooth-16 #gm-16-0")).to_have_value("-2")
    assert await sideways_overflow(page) <= 0
    divider = await page.evaluate("""() => ['thead th', 'tbody td'].map(cells => Array.from(
        document.querySelectorAll(`#tooth-26 ${cells}`)).slice(-6).map(c => getComputedStyle(c).borderLeftWidth))""")
    assert divider == [["0px", "0px", "0px", "2px", "0px", "0px"]] * 2  # buccal | lingual, head and body alike
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "perio-keypad-768.png"))

    summary = page.locator("#perio-summary")
    await expect(summary).to_contain_text("Stage III")
    await summary.get_by_role("button", name="Sign the exam").tap()
    await expect(page.get_by_text("this exam cannot change")).to_be_visible()
    assert await PerioTooth.count() == 64
    await page.get_by_role("button", name="Compare with the last exam").tap()
    drawing = page.locator("#perio-comparison")
    await expect(drawing).to_be_visible()
    await expect(page.locator(".perio-mark.perio-worse")).to_have_count(len([n for n in range(192) if n % 29 == 0]))
    await expect(page.locator(".perio-mark.perio-better")).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "perio-compare-768.png"), full_page=True)
