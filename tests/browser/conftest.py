"""A real portal process (uvicorn) on the test database, and Debian's chromium driven by Playwright."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest
from playwright.async_api import async_playwright

from tests.browser.accessibility import watch as accessibility_watch
from tests.conftest import ARTIFACTS, ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-quic", "--no-first-run", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def portal_process(log_name: str, **extra_env: str):
    """`portal serve` as a child process on a free loopback port, PUBLIC_URL naming it; yields its base URL and
    stops it after. Journeys that need settings of their own (channels on) start one with `extra_env`."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "PUBLIC_URL": base, **extra_env}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    process = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if urllib.request.urlopen(f"{base}/healthz", timeout=1).status == 200:
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the portal did not start; see test-artifacts/{log_name}") from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="session")
def live_server():
    with portal_process("live-server.log") as base:
        yield base


@pytest.fixture(scope="session")
async def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


# Reported through console.error, so that one listener sees script errors, console errors and CSP refusals.
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", e => console.error(
  "CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" +
  e.lineNumber));"""
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3}) ")


class BrowserProblems(list):
    """What the pages of a journey reported. Refusals the portal answers by design (a taken slot, a form with
    a mistake) are expected; a journey that provokes another answer on purpose says so with `allow_status`."""

    def __init__(self):
        super().__init__()
        self.allowed_statuses = {409, 422}

    def allow_status(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def unexpected(self) -> list[str]:
        return [text for text in self if not ((m := FAILED_LOAD.search(text.split(": ", 1)[1]))
                                              and int(m.group(1)) in self.allowed_statuses)]


@pytest.fixture(autouse=True)
def browser_problems():
    """Every journey fails on a console error, an uncaught page error or a CSP violation in any of its pages."""
    problems = BrowserProblems()
    yield problems
    assert problems.unexpected() == [], "the browser reported problems:\n" + "\n".join(problems.unexpected())


async def watched_context(browser, problems: list[str], **options):
    """A fresh browser context whose every page reports its problems to `problems`."""
    context = await browser.new_context(**options)
    await context.add_init_script(CSP_LISTENER)

    def watch(page):
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    context.on("page", watch)
    return context


@pytest.fixture
async def tablet(browser, live_server, browser_problems):
    """A fresh 768x1024 touch browser context (no shared cookies between tests); axe-core scans every page load."""
    context = await watched_context(browser, browser_problems, viewport={"width": 768, "height": 1024},
                                    has_touch=True, base_url=live_server)
    page = await context.new_page()
    accessibility = accessibility_watch(page)
    yield page
    await accessibility.finish()
    await context.close()


@pytest.fixture
async def phone(browser, live_server, browser_problems):
    context = await watched_context(browser, browser_problems, viewport={"width": 390, "height": 844},
                                    has_touch=True, is_mobile=True, base_url=live_server)
    page = await context.new_page()
    accessibility = accessibility_watch(page)
    yield page
    await accessibility.finish()
    await context.close()


# How far the page reaches past the right edge: the document's scroll width, and any element sticking out
# (an overflowing flex row can widen full-page screenshots without a scroll bar), except inside scroll boxes.
OVERFLOW_JS = """() => {
  const inScrollBox = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
    return false; };
  let right = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right && !inScrollBox(el)) right = r.right;
  }
  return Math.ceil(right - window.innerWidth);
}"""


async def sideways_overflow(page) -> int:
    return await page.evaluate(OVERFLOW_JS)
