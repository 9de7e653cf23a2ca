"""Links never come from the request's Host header: a forged Host is refused on every route, mailed and shown
links are built on PUBLIC_URL even when another allowed name is used, and production needs PUBLIC_URL."""

import dataclasses
import re
from pathlib import Path

import pytest

from portal import links
from portal.app import create_app
from portal.tables import OutboxMessage
from tests import factories
from tests.factories import email_of, post_form, sign_in_as
from tests.security.routes import fill, routes

FORGED = "evil.example"
ROOT = Path(__file__).resolve().parents[2]


async def test_a_forged_host_is_refused_on_every_route(app, client, clinic):
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    checked = 0
    for method, path, params in routes(app):
        url = fill(path, {name: 1 for name in params})
        response = await client.request(method, url, headers={"Host": FORGED, "X-CSRFToken": token},
                                         data=None if method == "GET" else {"_csrf_token": token})
        assert response.status_code == 400, f"{method} {path} answered {response.status_code} to a forged Host"
        assert FORGED not in response.text and FORGED not in response.headers.get("location", "")
        checked += 1
    assert checked >= 40


async def test_no_mail_is_queued_for_a_forged_host(client, clinic):
    """The privacy-centre link and the password reset are refused before anything is mailed."""
    await factories.make_patient(clinic, email="pat@example.org", date_of_birth="1980-02-03")
    token = await factories.csrf_token(client)
    for url, data in (("/privacy", {"email": "pat@example.org", "date_of_birth": "1980-02-03"}),
                      ("/password/forgot", {"email": await email_of(clinic)})):
        response = await client.post(url, data={"_csrf_token": token, **data}, headers={"Host": FORGED})
        assert response.status_code == 400, url
    assert await OutboxMessage.count() == 0


async def test_links_are_built_on_the_public_url_whatever_allowed_name_was_used(app, client, clinic, settings):
    """In development 127.0.0.1:PORT is also allowed; mail, the iCal link and pages still name PUBLIC_URL."""
    other_name = f"127.0.0.1:{settings.port}"
    assert other_name in links.allowed_hosts(settings)
    client.headers["Host"] = other_name
    cal = await factories.make_calendar(clinic)
    await factories.make_patient(clinic, email="pat@example.org", date_of_birth="1980-02-03")
    assert (await post_form(client, "/privacy", {"email": "pat@example.org", "date_of_birth": "1980-02-03"})
            ).status_code == 200
    assert (await post_form(client, "/password/forgot", {"email": await email_of(clinic)})).status_code == 200
    await factories.run_queued_jobs("default")  # the reset mail is written by the worker
    await sign_in_as(client, cal["dentist"])
    feed_page = await post_form(client, "/account/calendar-feed/rotate")
    schema = await client.get("/privacy/schema")
    bodies = [row["text_body"] + row["html_body"] for row in await OutboxMessage.select()]
    assert len(bodies) == 2
    found = [url for text in [*bodies, feed_page.text, schema.text] for url in re.findall(r"https?://[^\s\"'<>]+",
                                                                                          text)]
    ours = [url for url in found if "/privacy/link/" in url or "/password/" in url or "/ical/" in url
            or "/privacy/schema" in url]
    assert len(ours) >= 4, found
    assert all(url.startswith(settings.public_url + "/") for url in ours), ours
    assert not any("127.0.0.1" in url for url in found), found


@pytest.mark.parametrize("change", [{"https": True}, {"host": "0.0.0.0"}, {"host": "192.168.1.10"}])
def test_production_settings_refuse_to_start_without_public_url(settings, change):
    production = dataclasses.replace(settings, public_url="", **change)
    with pytest.raises(links.PublicUrlMissing):
        create_app(production, manage_pool=False)
    create_app(dataclasses.replace(production, public_url="https://portal.example.nl"), manage_pool=False)


def test_serve_refuses_a_public_bind_without_public_url(settings, monkeypatch):
    from portal import cli

    monkeypatch.setattr(cli, "_prepare", lambda _: pytest.fail("serve went on without PUBLIC_URL"))
    args = cli.build_parser().parse_args(["serve", "--host", "0.0.0.0"])
    with pytest.raises(SystemExit, match="PUBLIC_URL"):
        cli.cmd_serve(dataclasses.replace(settings, public_url=""), args)


def test_development_defaults_to_host_and_port(settings):
    dev = dataclasses.replace(settings, public_url="", host="127.0.0.1", port=8123)
    assert links.absolute_url(dev, "/password/x") == "http://127.0.0.1:8123/password/x"
    assert "127.0.0.1:8123" in links.allowed_hosts(dev) and FORGED not in links.allowed_hosts(dev)


def test_only_the_links_module_builds_absolute_urls():
    """No code reads the request's base URL or Host header to make a link."""
    pattern = re.compile(r"\.base_url\b|url_for\(|headers\.get\([\"']host|\.netloc|scope\[[\"']server")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "portal").rglob("*.py")
                 if path.name not in {"links.py", "db.py", "db_roles.py"}  # the last two: database URLs
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
