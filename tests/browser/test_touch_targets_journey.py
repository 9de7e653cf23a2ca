"""Every page a front desk uses, on the demo clinic: each clickable element can be hit with a finger on a 768 px
tablet (44 x 44 px, or spaced so: WCAG 2.2 2.5.8's spacing exception with a 44 px circle), no target hides under
another, and no page scrolls sideways on a 390 px phone (tables scroll inside their own box)."""

from datetime import timedelta

from playwright.async_api import Page, expect

from portal import clock, demo
from portal.tables import Appointment, Chair, Patient, TreatmentPlan
from tests import image_samples as samples
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS

TARGETS = "a[href], button, input:not([type=hidden]), select, summary, [role=button]"

# Named allowances: (a target, another target it may touch or lie under), each for a reason a finger does not
# suffer from.
ALLOWANCES = {
    # The empty slot under a booked card is meant to be covered: a tap there opens the booking, which is what the
    # card shows; the slot is only reachable where the chair is free.
    "slot-under-booking": (".cal-slot", ".cal-appt"),
}

# What a finger meets, measured in the page: each visible target's box (a wrapped checkbox or radio by its label,
# which takes the tap), failing when smaller than 44 x 44 px and a 44 px circle on its centre touches another
# target (or another small target's circle), or when it overlaps another target (a card hidden under the next).
MEASURE_JS = """([selector, root, allowed]) => {
  const scope = document.querySelector(root) || document;
  const seen = new Set(), targets = [];
  for (const el of scope.querySelectorAll(selector)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const wrapping = el.labels && [...el.labels].find(l => l.contains(el));
    const box = wrapping || el;
    if (seen.has(box)) continue;
    seen.add(box);
    const r = box.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;  // visually hidden, reached through its label
    targets.push({el: box, r, small: r.width < 43.5 || r.height < 43.5,
                  cx: r.left + r.width / 2, cy: r.top + r.height / 2});
  }
  const related = (a, b) => a.el.contains(b.el) || b.el.contains(a.el);
  const circleTouches = (t, r) => {
    const x = Math.max(r.left, Math.min(t.cx, r.right)), y = Math.max(r.top, Math.min(t.cy, r.bottom));
    return Math.hypot(t.cx - x, t.cy - y) < 21.5;
  };
  const name = t => {
    const el = t.el, text = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim();
    return `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' +
      el.className.trim().split(/\\s+/).slice(0, 2).join('.') : ''} "${text.slice(0, 40).replace(/\\s+/g, ' ')}" ` +
      `${Math.round(t.r.width)}x${Math.round(t.r.height)}`;
  };
  // Of two overlapping targets, the one painted under the other keeps only what shows around it: it is hidden
  // when no band of it 44 x 44 px is left. Which one is on top is asked of the page at a point they share.
  const hiddenUnder = (t, o) => {
    const x = (Math.max(t.r.left, o.r.left) + Math.min(t.r.right, o.r.right)) / 2 + scrollX;
    const y = (Math.max(t.r.top, o.r.top) + Math.min(t.r.bottom, o.r.bottom)) / 2 + scrollY;
    const [sx, sy] = [scrollX, scrollY];
    scrollTo(x - innerWidth / 2, y - innerHeight / 2);
    const hit = document.elementFromPoint(x - scrollX, y - scrollY);
    scrollTo(sx, sy);
    if (hit && t.el.contains(hit)) return false;
    const bands = [[t.r.width, o.r.top - t.r.top], [t.r.width, t.r.bottom - o.r.bottom],
                   [o.r.left - t.r.left, t.r.height], [t.r.right - o.r.right, t.r.height]];
    return !bands.some(([bw, bh]) => bw >= 43.5 && bh >= 43.5);
  };
  const failures = [];
  for (const t of targets) {
    let why = '';
    for (const o of targets) {
      if (o === t || related(t, o) || allowed.some(([a, b]) => t.el.matches(a) && o.el.matches(b))) continue;
      const w = Math.min(t.r.right, o.r.right) - Math.max(t.r.left, o.r.left);
      const h = Math.min(t.r.bottom, o.r.bottom) - Math.max(t.r.top, o.r.top);
      if (w > 1 && h > 1 && hiddenUnder(t, o)) { why = 'hidden under ' + name(o); break; }
      if (w > 1 && h > 1) continue;  // on top, or enough of it shows
      if (t.small && (circleTouches(t, o.r) || (o.small && Math.hypot(t.cx - o.cx, t.cy - o.cy) < 44))) {
        why = 'too small and too close to ' + name(o); break;
      }
    }
    if (why) failures.push(name(t) + ': ' + why);
  }
  return {count: targets.length, failures};
}"""


async def _demo_pages() -> list[tuple[str, str]]:
    """(url, part to measure) of the pages a front desk lives in, on the demo clinic."""
    await demo.load_demo()
    pat = await Patient.select(Patient.id).order_by(Patient.id).first()
    plan = await TreatmentPlan.select(TreatmentPlan.id).where(TreatmentPlan.patient == pat["id"]).first()
    chair = await Chair.select(Chair.id).order_by(Chair.id).first()
    today = clock.today("Europe/Amsterdam")
    while today.weekday() >= 5:
        today += timedelta(days=1)
    appointment = await Appointment.select(Appointment.id).where(Appointment.status == "booked").first()
    owner = await demo_owner()
    image = await samples.stored(owner, pat["id"], "bitewing.dcm", samples.dicom())
    p = f"/patients/{pat['id']}"
    return [("/", "main"), ("/patients", "main"), ("/patients?q=de", "main"), (p, "main"),
            (f"{p}/chart", "main"), (f"{p}/chart/teeth/36", "main"), (f"{p}/plans", "main"),
            (f"{p}/plans/{plan['id']}", "main"),
            (f"/calendar?date={today.isoformat()}", "main"), (f"/calendar?date={today.isoformat()}&step=15", "main"),
            (f"/calendar/week?date={today.isoformat()}", "main"),
            (f"/calendar/book?date={today.isoformat()}&time=12:00&chair={chair['id']}", "dialog[open]"),
            (f"/calendar/appointments/{appointment['id']}", "dialog[open]"),
            ("/settings", "main"), ("/audit", "main"), ("/recall", "main"), (f"{p}/account", "main"),
            (f"{p}/images", "main"), (f"{p}/images/{image}", "main")]


async def demo_owner():
    """The demo clinic's owner as the domain sees them."""
    from portal.permissions import Actor, Role
    from portal.tables import Clinic, Staff

    row = await Staff.select(Staff.id, Staff.name, Staff.clinic).where(Staff.email == f"owner@{demo.DOMAIN}").first()
    clinic = await Clinic.select(Clinic.name, Clinic.time_zone).where(Clinic.id == row["clinic"]).first()
    return Actor(kind="staff", id=row["id"], clinic_id=row["clinic"], name=row["name"], role=Role.OWNER,
                 clinic_name=clinic["name"], time_zone=clinic["time_zone"], country="NL")


async def test_every_target_takes_a_finger_at_768_px(tablet: Page):
    page = tablet
    pages = await _demo_pages()
    await sign_in(page, f"owner@{demo.DOMAIN}", demo.PASSWORD)
    failures, measured = [], 0
    for url, root in pages:
        await page.goto(url)
        await expect(page.locator(root).first).to_be_visible()
        result = await page.evaluate(MEASURE_JS, [TARGETS, root, list(ALLOWANCES.values())])
        if (width := await page.evaluate("document.scrollingElement.scrollWidth")) > 768:
            failures.append(f"{url}: the page is {width}px wide")
        measured += result["count"]
        failures += [f"{url}: {f}" for f in result["failures"]]
    ARTIFACTS.mkdir(exist_ok=True)
    await page.goto(pages[0][0])
    await page.screenshot(path=str(ARTIFACTS / "touch-targets-dashboard-768.png"))
    (ARTIFACTS / "touch-targets-768.txt").write_text(f"{measured} targets, {len(failures)} failing\n"
                                                     + "\n".join(failures) + "\n")
    assert measured > 500, "the demo pages should offer hundreds of targets"
    assert failures == [], f"{len(failures)} of {measured} targets are too small or hidden:\n" + "\n".join(failures)


async def test_no_front_desk_page_scrolls_sideways_at_390_px(phone: Page):
    page = phone
    pages = await _demo_pages()
    await sign_in(page, f"owner@{demo.DOMAIN}", demo.PASSWORD)
    wide = []
    for url, _root in pages:
        await page.goto(url)
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        if width > 390:
            culprit = await page.evaluate("""() => [...document.querySelectorAll('main *')].filter(e =>
              e.getBoundingClientRect().right > 391).slice(-3).map(e => e.tagName + '.' + e.className + ' ' +
              Math.round(e.getBoundingClientRect().right)).join(', ')""")
            wide.append(f"{url}: {width}px ({culprit})")
    await page.goto("/")
    await page.locator("details.dropdown summary").tap()
    menu = await page.locator("details.dropdown ul").bounding_box()
    if menu["x"] < 0 or menu["x"] + menu["width"] > 390:
        wide.append(f"the user menu is clipped: {menu}")
    assert wide == [], "pages wider than the phone:\n" + "\n".join(wide)
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_in_viewport(ratio=1)
