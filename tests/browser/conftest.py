"""A real portal process (uvicorn) on the test database, and Debian's chromium driven by Playwright."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.async_api import async_playwright

from tests.conftest import ARTIFACTS, ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-quic", "--no-first-run", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server():
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = open(ARTIFACTS / "live-server.log", "w") if ARTIFACTS.mkdir(exist_ok=True) is None else None
    process = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if urllib.request.urlopen(f"{base}/healthz", timeout=1).status == 200:
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the portal did not start; see test-artifacts/live-server.log")
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="session")
async def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def tablet(browser, live_server):
    """A fresh 768x1024 touch browser context (no shared cookies between tests)."""
    context = await browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True,
                                        base_url=live_server)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def phone(browser, live_server):
    context = await browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                        base_url=live_server)
    page = await context.new_page()
    yield page
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
