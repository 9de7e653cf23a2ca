"""Sign-in, sessions and throttling."""

import json
import time

from argon2 import PasswordHasher

from portal import auth
from portal.permissions import Role
from portal.tables import AuditEntry, LoginAttempt, Staff, WebSession
from tests import factories
from tests.factories import PASSWORD, post_form, sign_in, sign_in_as


async def test_owner_signs_in_and_sees_the_dashboard(client, clinic):
    response = await sign_in(client, "owner@canal-dental.test")
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = await client.get("/")
    assert page.status_code == 200
    assert "Canal Dental" in page.text and "Owner of Canal Dental" in page.text
    assert await AuditEntry.exists().where(AuditEntry.action == "auth.signed_in")


async def test_pages_need_a_session(client, clinic):
    response = await client.get("/patients")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_unknown_email_and_wrong_password_get_the_same_answer(client, clinic):
    timings = {}
    answers = {}
    for label, email in (("unknown", "nobody@nowhere.test"), ("wrong", "owner@canal-dental.test")):
        started = time.perf_counter()
        response = await sign_in(client, email, "not the password")
        timings[label] = time.perf_counter() - started
        answers[label] = (response.status_code, response.text.count("do not match an active account"))
    assert answers["unknown"] == answers["wrong"] == (401, 1)
    # Both paths verify one argon2 hash; neither may be several times faster than the other.
    assert max(timings.values()) < 4 * min(timings.values())


def _session_cookie(client) -> str:
    return next(c.value for c in client.cookies.jar if c.name == "session")


async def test_session_id_changes_at_sign_in(client, clinic):
    await sign_in_as(client, clinic)
    first = _session_cookie(client)
    await sign_in_as(client, clinic)
    second = _session_cookie(client)
    assert second != first
    assert [r["key"] for r in await WebSession.select(WebSession.key)] == [second]


async def test_one_client_guessing_one_account_waits_longer_each_time(client, clinic):
    """Five failures from one client for one account: a 1-minute wait, then 2, 4, 8 ... up to the window."""
    from datetime import datetime, timezone

    for _ in range(5):
        assert (await sign_in(client, "owner@canal-dental.test", "wrong")).status_code == 401
    response = await sign_in(client, "owner@canal-dental.test", PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts. Please wait 1 minute and" in response.text
    assert await AuditEntry.exists().where(AuditEntry.action == "auth.throttled")
    waits = []
    for _ in range(4):  # each further failure (after its wait) doubles the next wait
        await LoginAttempt.insert(LoginAttempt(email="owner@canal-dental.test", ip="10.0.0.1", succeeded=False,
                                               at=datetime.now(timezone.utc)))
        text = (await sign_in(client, "owner@canal-dental.test", PASSWORD)).text
        waits.append(int(text.split("Please wait ")[1].split(" minute")[0]))
    assert waits == [2, 4, 8, 15]


async def test_an_attacker_elsewhere_does_not_lock_the_real_user_out(client, other_client, clinic):
    """Five (or fifty) wrong passwords from other addresses do not stop the owner at their own browser."""
    await LoginAttempt.insert(*[LoginAttempt(email="owner@canal-dental.test", ip=f"203.0.113.{i}", succeeded=False)
                                for i in range(30)])
    assert (await sign_in(client, "owner@canal-dental.test", PASSWORD)).status_code == 303
    # Past ten times the pair limit from everywhere, unknown devices wait; the browser that signed in before
    # (signed known-device cookie) still gets in with the right password, and only with it.
    await LoginAttempt.insert(*[LoginAttempt(email="owner@canal-dental.test", ip=f"198.51.100.{i}", succeeded=False)
                                for i in range(60)])
    assert (await sign_in(other_client, "owner@canal-dental.test", PASSWORD)).status_code == 429
    await client.post("/logout", headers={"X-CSRFToken": await factories.csrf_token(client)})
    assert (await sign_in(client, "owner@canal-dental.test", "wrong")).status_code == 429
    assert (await sign_in(client, "owner@canal-dental.test", PASSWORD)).status_code == 303


async def test_a_known_device_cookie_is_signed_per_account(client, clinic, settings):
    await sign_in_as(client, clinic)
    cookie = client.cookies.get(auth.DEVICE_COOKIE)
    assert auth.known_staff_ids(settings.secret_key, cookie) == {clinic.id}
    forged = cookie.replace(f"{clinic.id}.", f"{clinic.id + 1}.", 1)
    assert auth.known_staff_ids(settings.secret_key, forged) == frozenset()
    assert auth.known_staff_ids("another-secret", cookie) == frozenset()
    assert auth.known_staff_ids(settings.secret_key, "junk~1.x.y~..~999999999999999.a.b") == frozenset()
    both = auth.remember_device(settings.secret_key, cookie, clinic.id + 7)
    assert auth.known_staff_ids(settings.secret_key, both) == {clinic.id, clinic.id + 7}


async def test_one_address_is_throttled_after_twenty_failures(client, clinic):
    await LoginAttempt.insert(*[LoginAttempt(email=f"guess{i}@x.test", ip="10.0.0.1", succeeded=False)
                                for i in range(20)])
    response = await sign_in(client, "owner@canal-dental.test", PASSWORD)
    assert response.status_code == 429


async def test_deactivated_staff_cannot_sign_in_and_their_sessions_end(client, other_client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)
    assert (await other_client.get("/patients")).status_code == 200
    await sign_in_as(client, clinic)
    email = await factories.email_of(receptionist)
    response = await post_form(client, f"/staff/{receptionist.id}",
                               {"name": "Gone", "email": email, "role": "receptionist"})  # "active" unticked
    assert response.status_code == 303
    assert (await other_client.get("/patients")).status_code == 303
    assert (await sign_in(other_client, email)).status_code == 401


async def test_sign_out_everywhere_ends_every_device(client, other_client, clinic):
    await sign_in_as(client, clinic)
    await sign_in_as(other_client, clinic)
    assert (await post_form(client, "/logout/everywhere")).status_code == 303
    assert (await other_client.get("/")).status_code == 303
    assert await WebSession.count() == 0


async def test_session_ends_after_thirty_idle_minutes(client, clinic):
    await sign_in_as(client, clinic)
    row = await WebSession.select().first()
    data = json.loads(bytes(row["data"]))
    data["seen"] -= 31 * 60
    await WebSession.update({WebSession.data: json.dumps(data).encode()}).where(WebSession.id == row["id"])
    assert (await client.get("/")).status_code == 303


async def test_session_ends_after_twelve_hours_even_when_active(client, clinic):
    await sign_in_as(client, clinic)
    row = await WebSession.select().first()
    data = json.loads(bytes(row["data"]))
    data["started"] -= 12 * 3600 + 1
    await WebSession.update({WebSession.data: json.dumps(data).encode()}).where(WebSession.id == row["id"])
    assert (await client.get("/")).status_code == 303


async def test_password_is_rehashed_when_parameters_change(client, clinic):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await Staff.update({Staff.password_hash: weak}).where(Staff.id == clinic.id)
    await sign_in_as(client, clinic)
    stored = (await Staff.select(Staff.password_hash).where(Staff.id == clinic.id).first())["password_hash"]
    assert stored != weak and stored.startswith("$argon2id$")
    assert not auth.hasher.check_needs_rehash(stored)


async def test_sign_in_never_redirects_to_another_site(client, clinic):
    token = await factories.csrf_token(client)
    response = await client.post("/login", data={"_csrf_token": token, "email": "owner@canal-dental.test",
                                                 "password": PASSWORD, "next": "//evil.test/"})
    assert response.headers["location"] == "/"


async def test_parallel_guesses_cannot_outrun_the_throttle(clinic, settings):
    import asyncio

    from portal.errors import SignInFailed, Throttled

    async def guess():
        try:
            await auth.sign_in("owner@canal-dental.test", "wrong", "10.9.9.9", settings)
        except (SignInFailed, Throttled) as exc:
            return type(exc).__name__

    results = await asyncio.gather(*[guess() for _ in range(12)])  # one client, one account: the pair limit
    assert results.count("SignInFailed") == 5 and results.count("Throttled") == 7
    assert await LoginAttempt.count() == 5


async def test_an_ended_session_is_never_written_back():
    from portal.sessions import PostgresSessionStore

    store = PostgresSessionStore()
    await store.replace("ended-session", b'{"staff_id": 1}')
    assert await WebSession.count() == 0


async def test_owner_signs_a_staff_member_out_everywhere(client, other_client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await sign_in_as(other_client, dentist)
    await sign_in_as(client, clinic)
    assert (await post_form(client, f"/staff/{dentist.id}/sign-out")).status_code == 303
    assert (await other_client.get("/")).status_code == 303


async def test_client_address_comes_from_a_trusted_proxy_only(app, client, clinic, monkeypatch):
    from dataclasses import replace

    monkeypatch.setattr(app.state, "settings", replace(app.state.settings, trusted_proxies=frozenset({"10.0.0.1"})))
    token = await factories.csrf_token(client)
    await client.post("/login", data={"_csrf_token": token, "email": "x@y.test", "password": "nope"},
                      headers={"X-Forwarded-For": "203.0.113.7"})
    assert (await LoginAttempt.select(LoginAttempt.ip).first())["ip"] == "203.0.113.7"


async def test_an_expired_session_returns_to_the_full_page_with_its_query(client, clinic):
    from urllib.parse import parse_qs, urlsplit

    page = await client.get("/patients?q=jan")
    assert page.status_code == 303
    assert parse_qs(urlsplit(page.headers["location"]).query) == {"next": ["/patients?q=jan"]}
    # An htmx fragment (the booking dialog) names the page it was opened on: sign-in leads back there, never to the
    # bare fragment.
    fragment = await client.get("/calendar/book?date=2026-12-01&time=10:00",
                                headers={"HX-Request": "true",
                                         "HX-Current-URL": "http://testserver/calendar?date=2026-12-01&step=10"})
    assert fragment.status_code == 401
    target = parse_qs(urlsplit(fragment.headers["HX-Redirect"]).query)["next"]
    assert target == ["/calendar?date=2026-12-01&step=10"]
    elsewhere = await client.get("/calendar/book", headers={"HX-Request": "true",
                                                            "HX-Current-URL": "https://evil.example/phish"})
    assert parse_qs(urlsplit(elsewhere.headers["HX-Redirect"]).query)["next"] == ["/"]
    await sign_in_as(client, clinic)
    back = await post_form(client, "/login", {"email": await factories.email_of(clinic), "password": factories.PASSWORD,
                                               "next": "/patients?q=jan"})
    assert back.headers["location"] == "/patients?q=jan"
