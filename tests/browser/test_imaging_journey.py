"""A dentist on a tablet uploads an X-ray, opens it and zooms; an STL scan renders in 3D; pages fit a phone."""

import io

from PIL import Image
from playwright.async_api import Page, expect

from portal.permissions import Role
from tests import factories
from tests import image_samples as samples
from tests.browser.conftest import sideways_overflow
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS


async def test_dentist_uploads_an_xray_opens_it_and_zooms(tablet: Page, clinic, tmp_path, browser_problems):
    page = tablet
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dekker")
    patient = await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    xray = tmp_path / "bitewing.png"
    xray.write_bytes(samples.picture("PNG", size=(600, 400)))
    await sign_in(page, await factories.email_of(dentist), factories.PASSWORD)

    await page.goto(f"/patients/{patient}")
    await page.get_by_role("button", name="Images", exact=True).click()
    await expect(page.get_by_role("heading", name="Images")).to_be_visible()
    await page.get_by_role("button", name="Upload X-rays, photos or scans").click()
    await page.get_by_label("Files").set_input_files(str(xray))
    await page.get_by_label("Kind").select_option("xray")
    await page.get_by_label("Teeth (FDI)").fill("36 37")
    await page.get_by_role("button", name="Upload", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("1 file uploaded.")
    thumbnail = page.locator(".image-grid img").first
    await expect(thumbnail).to_be_visible()
    assert await thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "imaging-gallery-768.png"), full_page=True)

    await thumbnail.click()
    await expect(page.get_by_role("heading", name="X-ray")).to_be_visible()
    viewport = page.locator("[data-zoom-viewport]")
    await expect(viewport).to_have_attribute("data-ready", "true")
    await page.get_by_role("button", name="Zoom in").click()
    await page.get_by_role("button", name="Zoom in").click()
    await expect(page.locator("[data-zoom-level]")).to_have_text("156%")
    assert "scale(1.5625)" in await page.locator("[data-zoom-image]").evaluate("img => img.style.transform")
    box = await viewport.bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 10)
    await page.mouse.up()
    await page.screenshot(path=str(ARTIFACTS / "imaging-viewer-zoomed-768.png"))
    await page.get_by_label("Contrast").fill("200")
    await page.get_by_label("Invert").check()
    picture = page.locator("[data-zoom-image]")
    await expect(picture).to_have_css("filter", "brightness(1) contrast(2) invert(1)")
    await page.get_by_role("button", name="Reset the adjustments").tap()
    await expect(picture).to_have_css("filter", "brightness(1) contrast(1) invert(0)")
    await page.get_by_role("button", name="Reset", exact=True).click()
    await expect(page.locator("[data-zoom-level]")).to_have_text("100%")
    await viewport.focus()
    await page.keyboard.press("+")
    await expect(page.locator("[data-zoom-level]")).to_have_text("125%")
    assert browser_problems.unexpected() == []  # console errors, page errors, CSP refusals


async def test_an_stl_scan_renders_on_a_canvas(tablet: Page, clinic, browser_problems):
    page = tablet
    patient = await factories.make_patient(clinic, given_name="Sem", family_name="Bakker")
    await samples.stored(clinic, patient, "bitewing.png")
    scan = await samples.stored(clinic, patient, "upper-jaw.stl", samples.stl_torus(), kind="scan")
    await sign_in(page, "owner@canal-dental.test", factories.PASSWORD)
    await page.goto(f"/patients/{patient}/images")
    await expect(page.locator(".image-grid li")).to_have_count(2)
    await page.get_by_role("link", name="Scans", exact=True).click()  # htmx swaps the grid only
    await expect(page.locator(".image-grid li")).to_have_count(1)
    await expect(page).to_have_url(f"/patients/{patient}/images?kind=scan")
    await page.locator(f'a[href="/patients/{patient}/images/{scan}"]').click()
    viewer = page.locator("[data-stl-viewer]")
    await expect(viewer).to_have_attribute("data-ready", "true", timeout=20_000)
    canvas = viewer.locator("canvas")
    await expect(canvas).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = await canvas.screenshot(path=str(ARTIFACTS / "imaging-stl-768.png"))
    grey = Image.open(io.BytesIO(shot)).convert("L")
    darkest, lightest = grey.getextrema()
    assert lightest - darkest > 40, "the canvas is blank"
    assert browser_problems.unexpected() == []  # console errors, page errors, CSP refusals


async def test_imaging_pages_fit_a_phone(phone: Page, clinic):
    patient = await factories.make_patient(clinic)
    xray = await samples.stored(clinic, patient, "long-name-" * 20 + ".png", samples.picture("PNG", size=(1200, 300)),
                                caption="A caption that goes on and on " * 5)
    scan = await samples.stored(clinic, patient, "jaw.stl", samples.stl_torus(), kind="scan")
    await sign_in(phone, "owner@canal-dental.test", factories.PASSWORD)
    for url in (f"/patients/{patient}/images", f"/patients/{patient}/images/{xray}",
                f"/patients/{patient}/images/{scan}"):
        await phone.goto(url)
        overflow = await sideways_overflow(phone)
        assert overflow <= 1, f"{url} scrolls sideways by {overflow}px"
        widest = await phone.evaluate(
            "Math.max(...[...document.querySelectorAll('main *')].map(e => e.getBoundingClientRect().right))")
        assert widest <= await phone.evaluate("window.innerWidth") + 1, f"{url}: content reaches {widest}px"
    ARTIFACTS.mkdir(exist_ok=True)
    await phone.goto(f"/patients/{patient}/images")
    await phone.screenshot(path=str(ARTIFACTS / "imaging-gallery-390.png"), full_page=True)
    await phone.goto(f"/patients/{patient}/images/{xray}")
    await phone.screenshot(path=str(ARTIFACTS / "imaging-viewer-390.png"), full_page=True)


async def _touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    """A one-finger drag as the touch screen reports it (Chromium turns it into pointer events of type touch)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for i in range(1, steps + 1):
        x, y = (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_a_finger_measures_a_dicom_in_mm_and_a_photo_in_pixels(tablet: Page, clinic):
    page = tablet
    patient = await factories.make_patient(clinic)
    # 600 columns of 0.1 mm: the picture is 60 mm wide, whatever size the tablet shows it at.
    xray = await samples.stored(clinic, patient, "bitewing.dcm",
                                samples.dicom(rows=400, columns=600, pixel_spacing=(0.1, 0.1)))
    photo = await samples.stored(clinic, patient, "smile.png", samples.picture("PNG", size=(300, 200)), kind="photo")
    await sign_in(page, "owner@canal-dental.test", factories.PASSWORD)
    await page.goto(f"/patients/{patient}/images/{xray}")
    viewport = page.locator("[data-zoom-viewport]")
    await expect(viewport).to_have_attribute("data-ruler-ready", "true")
    await page.get_by_role("button", name="Ruler").tap()
    await expect(page.get_by_role("button", name="Ruler")).to_have_attribute("aria-pressed", "true")
    box = await page.locator("[data-zoom-image]").bounding_box()
    y = box["y"] + box["height"] / 2
    await _touch_drag(page, (box["x"] + box["width"] * 0.25, y), (box["x"] + box["width"] * 0.75, y))
    await expect(page.locator("[data-ruler-length]")).to_have_text("30.0 mm")  # half of 60 mm
    assert await page.locator("[data-zoom-level]").text_content() == "100%"  # the drag measured, it did not pan
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "imaging-ruler-768.png"))
    # Zoomed in, the line stays on the picture and a new one still measures the picture, not the screen.
    await page.get_by_role("button", name="Zoom in").tap()
    box = await page.locator("[data-zoom-image]").bounding_box()
    await _touch_drag(page, (box["x"] + 10, box["y"] + 10), (box["x"] + 10, box["y"] + 10 + box["height"] * 0.1))
    await expect(page.locator("[data-ruler-length]")).to_have_text("4.0 mm")  # a tenth of 400 rows of 0.1 mm

    await page.goto(f"/patients/{patient}/images/{photo}")
    await expect(page.locator("[data-ruler-length]")).to_have_text("Not calibrated: the ruler measures in pixels.")
    await page.get_by_role("button", name="Ruler").tap()
    box = await page.locator("[data-zoom-image]").bounding_box()
    await page.touchscreen.tap(box["x"] + 1, box["y"] + box["height"] / 2)  # two taps: no dragging needed
    await page.touchscreen.tap(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    # 300 px less the two 1 px margins
    await expect(page.locator("[data-ruler-length]")).to_have_text("298 px (not calibrated)")
