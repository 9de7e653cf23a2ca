"""Staff two-step sign-in: enrolment with a QR code and a first code, recovery codes used once, the code asked after
the password, a code never accepted twice, remembered devices, and owners sent to enrol when it is required."""

import re
import time
from dataclasses import replace

import httpx
import pyotp
import pytest

from portal.app import create_app
from portal.permissions import Role
from portal.tables import AuditEntry, StaffRecoveryCode, StaffTotp
from tests import factories
from tests.factories import PASSWORD, csrf_token, email_of, post_form, sign_in_as


@pytest.fixture(scope="module")
def required_app(settings):
    return create_app(replace(settings, totp_required_roles=frozenset({"owner"})), manage_pool=False)


@pytest.fixture
async def owner_browser(required_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=required_app), base_url="http://testserver") as c:
        yield c


async def _password(client, email: str) -> httpx.Response:
    await client.get("/login")
    return await post_form(client, "/login", {"email": email, "password": PASSWORD, "next": "/patients"})


async def _enrol(client) -> tuple[str, list[str]]:
    page = await client.get("/account/two-factor")
    assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
    secret = re.search(r"Or type this key: ([A-Z2-7]+)", page.text).group(1)
    done = await post_form(client, "/account/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    return secret, re.findall(r"<code>([0-9a-f]{10})</code>", done.text)


def _next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted: clocks drift), so a test never reuses the enrolment's."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def test_a_staff_member_enrols_and_then_signs_in_with_password_and_code(client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await sign_in_as(client, dentist)
    assert (await client.get("/account/two-factor")).status_code == 200
    wrong = await post_form(client, "/account/two-factor", {"code": "000000"})
    assert wrong.status_code == 422 and "not right" in wrong.text
    secret, codes = await _enrol(client)
    assert len(codes) == 10 and await StaffRecoveryCode.count() == 10
    stored = str(await StaffRecoveryCode.select())
    assert all(c not in stored for c in codes)  # stored hashed only
    client.cookies.clear()
    password = await _password(client, await email_of(dentist))
    assert password.status_code == 303 and password.headers["location"] == "/login/code"
    code = _next_code(secret)
    bad = await post_form(client, "/login/code", {"code": "12345"})
    assert bad.status_code == 422
    good = await post_form(client, "/login/code", {"code": code})
    assert good.status_code == 303 and good.headers["location"] == "/patients"
    assert (await client.get("/patients")).status_code == 200
    # The same code again (seen over a shoulder) is refused.
    client.cookies.clear()
    await _password(client, await email_of(dentist))
    assert (await post_form(client, "/login/code", {"code": code})).status_code == 422
    assert (await client.get("/patients")).status_code == 303  # the password alone opened no session


async def test_a_recovery_code_works_once(client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    _, codes = await _enrol(client)
    for expected in (303, 422):
        client.cookies.clear()
        await _password(client, await email_of(desk))
        assert (await post_form(client, "/login/code", {"code": codes[0]})).status_code == expected
    assert await AuditEntry.exists().where(AuditEntry.action == "auth.two_factor_failed")


async def test_five_wrong_codes_send_back_to_the_password(client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    secret, _ = await _enrol(client)
    client.cookies.clear()
    await _password(client, await email_of(desk))
    for _ in range(4):
        assert (await post_form(client, "/login/code", {"code": "000001"})).status_code == 422
    assert (await post_form(client, "/login/code", {"code": "000001"})).headers["location"] == "/login"
    assert (await post_form(client, "/login/code", {"code": _next_code(secret)})).headers["location"] == "/login"


async def test_a_remembered_device_skips_the_code_and_another_does_not(client, other_client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    secret, codes = await _enrol(client)
    client.cookies.clear()
    await _password(client, await email_of(desk))
    await post_form(client, "/login/code", {"code": _next_code(secret), "remember": "on"})
    device = client.cookies.get("trusted_device")
    assert device
    client.cookies.clear()
    client.cookies.set("trusted_device", device, path="/login")
    again = await _password(client, await email_of(desk))
    assert again.headers["location"] == "/patients"
    other = await _password(other_client, await email_of(desk))
    assert other.headers["location"] == "/login/code"


async def test_an_owner_must_enrol_before_anything_else_when_required(owner_browser, clinic):
    signed = await _password(owner_browser, await email_of(clinic))
    assert signed.headers["location"] == "/account/two-factor"
    elsewhere = await owner_browser.get("/patients")
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/account/two-factor"
    await _enrol(owner_browser)
    assert (await owner_browser.get("/patients")).status_code == 200
    assert await StaffTotp.exists().where(StaffTotp.staff == clinic.id)
    token = await csrf_token(owner_browser)
    assert token


async def test_the_secret_is_stored_encrypted_and_old_plain_secrets_are_sealed(client, clinic, settings):
    from portal.operations import housekeeping

    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    secret, _ = await _enrol(client)
    stored = (await StaffTotp.select(StaffTotp.secret).where(StaffTotp.staff == desk.id).first())["secret"]
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token, not the base32 secret
    # A secret written before encryption at rest still works, and the code's write seals it.
    await StaffTotp.update({StaffTotp.secret: secret}).where(StaffTotp.staff == desk.id)
    client.cookies.clear()
    await _password(client, await email_of(desk))
    assert (await post_form(client, "/login/code", {"code": _next_code(secret)})).status_code == 303
    stored = (await StaffTotp.select(StaffTotp.secret).where(StaffTotp.staff == desk.id).first())["secret"]
    assert secret not in stored
    # The rest (staff who have not signed in since) are sealed by the hourly housekeeping.
    await StaffTotp.update({StaffTotp.secret: secret}).where(StaffTotp.staff == desk.id)
    assert (await housekeeping.purge(settings))["totp_sealed"] == 1
    assert secret not in str(await StaffTotp.select(StaffTotp.secret))


async def test_an_owner_resets_a_members_second_factor_and_they_enrol_again(client, other_client, clinic):
    from portal.tables import StaffTrustedDevice

    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await sign_in_as(client, dentist)
    secret, _ = await _enrol(client)
    client.cookies.clear()
    await _password(client, await email_of(dentist))
    await post_form(client, "/login/code", {"code": _next_code(secret), "remember": "on"})
    assert await StaffTrustedDevice.count().where(StaffTrustedDevice.staff == dentist.id) == 1
    # A receptionist (no staff management) cannot reset anyone's.
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, desk)
    assert (await post_form(other_client, f"/staff/{dentist.id}/two-factor/reset")).status_code == 403
    assert (await post_form(other_client, f"/staff/{dentist.id}/devices/revoke")).status_code == 403
    assert await totp_enrolled(dentist.id)
    other_client.cookies.clear()
    await sign_in_as(other_client, clinic)
    page = await other_client.get(f"/staff/{dentist.id}")
    assert "Turned on." in page.text and "1 remembered device." in page.text
    reset = await post_form(other_client, f"/staff/{dentist.id}/two-factor/reset")
    assert reset.status_code == 303
    assert not await totp_enrolled(dentist.id) and not await StaffTrustedDevice.exists()
    assert await AuditEntry.exists().where((AuditEntry.action == "staff.two_factor_reset")
                                           & (AuditEntry.actor_id == clinic.id))
    assert (await client.get("/patients")).status_code == 303  # their open session ended
    # Their role does not require a second factor, but after the reset they must set it up again first.
    signed = await _password(client, await email_of(dentist))
    assert signed.headers["location"] == "/account/two-factor"
    assert (await client.get("/patients")).headers["location"] == "/account/two-factor"
    await _enrol(client)
    assert (await client.get("/patients")).status_code == 200


async def test_remembered_devices_are_revoked_by_their_owner_or_the_clinic_owner(client, other_client, clinic):
    from portal.tables import StaffTrustedDevice

    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    secret, codes = await _enrol(client)
    client.cookies.clear()
    await _password(client, await email_of(desk))
    await post_form(client, "/login/code", {"code": _next_code(secret), "remember": "on"})
    device = client.cookies.get("trusted_device")
    page = await client.get("/account/two-factor")
    assert "1 device skips the code" in page.text
    assert (await post_form(client, "/account/devices/revoke")).status_code == 303
    assert not await StaffTrustedDevice.exists()
    client.cookies.set("trusted_device", device, path="/login")
    again = await _password(client, await email_of(desk))
    assert again.headers["location"] == "/login/code"  # the device is asked for the code again
    await post_form(client, "/login/code", {"code": codes[0], "remember": "on"})
    assert await StaffTrustedDevice.count() == 1
    await sign_in_as(other_client, clinic)
    assert (await post_form(other_client, f"/staff/{desk.id}/devices/revoke")).status_code == 303
    assert not await StaffTrustedDevice.exists()
    assert await AuditEntry.count().where(AuditEntry.action == "staff.devices_revoked") == 2


async def test_an_owner_cannot_reset_another_clinics_member(client, clinic, other_clinic):
    stranger = await factories.make_staff(other_clinic, Role.DENTIST)
    await sign_in_as(client, clinic)
    assert (await post_form(client, f"/staff/{stranger.id}/two-factor/reset")).status_code == 404
    assert (await post_form(client, f"/staff/{stranger.id}/devices/revoke")).status_code == 404


async def totp_enrolled(staff_id: int) -> bool:
    from portal.two_factor import totp

    return await totp.enrolled(staff_id)
