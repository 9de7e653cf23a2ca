"""Errors are calm pages: no stack trace, SQL or internal detail ever reaches the browser."""

import logging

from portal import dashboard
from tests.factories import sign_in_as


async def test_unknown_page_is_a_404_page(client):
    response = await client.get("/wp-admin.php")
    assert response.status_code == 404
    assert "Not found" in response.text and "<html" in response.text


async def test_crash_shows_a_500_page_with_a_reference_and_logs_the_trace(client, clinic, monkeypatch, caplog):
    async def broken(actor, *_):
        raise RuntimeError("relation \"secret_table\" does not exist")

    await sign_in_as(client, clinic)
    monkeypatch.setattr(dashboard, "clinic_overview", broken)
    with caplog.at_level(logging.ERROR, logger="chairside"):
        response = await client.get("/")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert response.headers["x-request-id"] in response.text
    assert "secret_table" not in response.text and "Traceback" not in response.text
    assert any("secret_table" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_wrong_method_is_a_page_not_a_trace(client):
    response = await client.put("/login")
    assert response.status_code in (403, 405)
    assert "Traceback" not in response.text


async def test_values_postgres_cannot_hold_are_a_400_page_not_a_crash(client, clinic):
    await sign_in_as(client, clinic)
    for url in ("/patients/99999999999", "/staff/99999999999", "/calendar/appointments/99999999999"):
        response = await client.get(url)
        assert response.status_code == 400, url
        assert "could not be understood" in response.text
    for url in ("/audit?patient_id=%C2%B2", "/audit?date_to=9999-12-31&date_from=0001-01-01",
                "/patients?page=1000000000000000000", "/calendar?date=0001-01-01"):
        assert (await client.get(url)).status_code == 200, url


async def test_an_error_answering_a_fragment_request_replaces_the_page(client, clinic):
    from portal.permissions import Role
    from tests import factories

    await sign_in_as(client, await factories.make_staff(clinic, Role.DENTIST))
    response = await client.get("/audit", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "body"
