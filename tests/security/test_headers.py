"""Security headers, cookies, no inline script, nothing loaded from other sites, privacy signals."""

import re

from tests.factories import sign_in_as

PAGES = ["/", "/patients", "/staff", "/audit", "/patients/new", "/staff/new"]


async def test_every_page_sends_strict_headers(client, clinic):
    await sign_in_as(client, clinic)
    for url in PAGES + ["/cookies", "/login", "/no-such-page"]:
        response = await client.get(url)
        csp = response.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
            assert directive in csp, url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "geolocation=()" in response.headers["permissions-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-request-id"]


async def test_pages_have_no_inline_script_and_no_third_party_urls(client, clinic):
    await sign_in_as(client, clinic)
    for url in PAGES:
        html = (await client.get(url)).text
        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in tag, (url, tag)
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), url
        assert re.search(r"\son\w+=", html) is None, url  # no inline event handlers


async def test_cookies_are_httponly_and_samesite(client, clinic):
    login = await client.get("/login")
    csrf_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie
    response = await client.post("/login", data={"_csrf_token": client.cookies["csrftoken"],
                                                 "email": "owner@canal-dental.test",
                                                 "password": "correct horse battery"})
    session_cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")][0].lower()
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie


async def test_static_files_may_be_cached(client):
    response = await client.get("/static/css/portal.css")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]


async def test_global_privacy_control_is_declared(client):
    response = await client.get("/.well-known/gpc.json")
    assert response.json()["gpc"] is True
    assert "Global Privacy Control" in (await client.get("/cookies")).text


async def test_htmx_is_pinned_to_2_0_and_served_locally(client):
    response = await client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert 'version:"2.0.' in response.text.replace(" ", "")
