"""The page chrome (head, top bar, footer) is drawn once per person, language and section and served from memory,
yet each response carries its own CSRF token and its own path, and a change of name shows at once
(portal/views/chrome.py)."""

import re
import time

from portal.tables import Staff
from portal.views import chrome
from tests.factories import sign_in_as


def _topbars() -> list[tuple]:
    return [key for key in chrome._drawn if key[0] == "chrome/topbar.html" and len(key) == 5]  # signed in: actor, clinics, section


def _tokens(page: str) -> tuple[str, str, str]:
    """The token htmx sends (hx-headers), the sign-out form's and the language form's."""
    sent = re.search(r'hx-headers=\'{"X-CSRFToken": "([0-9a-f]+)"}\'', page).group(1)
    sign_out = re.search(r'action="/logout">\s*<input[^>]*value="([0-9a-f]+)"', page).group(1)
    language = re.search(r'action="/account/language"[^>]*>\s*<input[^>]*value="([0-9a-f]+)"', page).group(1)
    return sent, sign_out, language


async def test_the_top_bar_is_drawn_once_per_section_and_each_response_has_its_own_token_and_path(client, clinic):
    chrome.forget()
    await sign_in_as(client, clinic)
    first = await client.get("/staff/")
    assert len(_topbars()) == 1
    second = await client.get("/staff/new")
    assert len(_topbars()) == 1  # the same section: the same drawing
    for page, path in ((first, "/staff"), (second, "/staff/new")):  # the router drops a trailing slash
        assert page.status_code == 200
        assert f'<input type="hidden" name="next" value="{path}">' in page.text
        assert re.search(r'<a href="/staff/?" aria-current="page">Staff</a>', page.text)
    first_tokens, second_tokens = _tokens(first.text), _tokens(second.text)
    assert len(set(first_tokens)) == 1 and len(set(second_tokens)) == 1  # one token per response, everywhere
    assert first_tokens[0] != second_tokens[0]  # masked afresh: a compressed page never repeats a secret
    calendar = await client.get("/calendar")
    assert len(_topbars()) == 2 and re.search(r'<a href="/calendar[^"]*" aria-current="page">Calendar</a>',
                                              calendar.text)
    signed_out = await client.post("/logout", data={"_csrf_token": _tokens(second.text)[1]})
    assert signed_out.status_code == 303  # the token in a kept top bar's form is this response's own, and works


async def test_a_new_name_shows_in_the_top_bar_at_once(client, clinic):
    await sign_in_as(client, clinic)
    assert f"<summary>{clinic.name}</summary>" in (await client.get("/staff/new")).text
    await Staff.update({Staff.name: "Dr. Renamed"}).where(Staff.id == clinic.id)
    page = (await client.get("/staff/new")).text
    assert "<summary>Dr. Renamed</summary>" in page and f"<summary>{clinic.name}</summary>" not in page


async def test_a_drawing_older_than_five_minutes_is_swept_from_memory(client, clinic):
    await sign_in_as(client, clinic)
    await client.get("/staff/new")
    stale = ("chrome/topbar.html", "en", "someone erased", 1, None)
    chrome._drawn[stale] = ("<header>Erased Person</header>", time.monotonic() - chrome.KEEP_SECONDS - 1)
    chrome._swept_at = 0.0
    await client.get("/staff/new")
    assert stale not in chrome._drawn and _topbars()
