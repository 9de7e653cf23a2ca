"""Staff invitations and password resets: mailed through the outbox to a real SMTP server, single use,
time-limited, stored hashed, and silent about unknown addresses."""

import re
from datetime import datetime, timedelta, timezone

from portal import auth
from portal.messaging import outbox
from portal.permissions import Role
from portal.tables import StaffToken
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.mail_sink import body_text


def _path(message) -> str:
    return "/password/" + re.search(r"/password/(\S+)", body_text(message)).group(1)


async def _staff_email(actor) -> str:
    return await factories.email_of(actor)


async def test_an_invitation_lets_the_new_colleague_choose_a_password_once(client, other_client, clinic, settings,
                                                                           mailbox):
    hygienist = await factories.make_staff(clinic, Role.HYGIENIST)
    email = await _staff_email(hygienist)
    await sign_in_as(client, clinic)
    response = await client.post(f"/staff/{hygienist.id}/invite", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    await outbox.deliver_due(settings)
    [message] = mailbox.to(email)
    assert "invited" in message["Subject"]
    path = _path(message)
    token = path.rsplit("/", 1)[1]
    assert not await StaffToken.exists().where(StaffToken.token_hash == token)  # only the hash is kept
    page = await other_client.get(path)
    assert page.status_code == 200 and "Welcome" in page.text
    form = {"_csrf_token": await csrf_token(other_client), "password": "a brand new passphrase",
            "password_again": "a brand new passphrase"}
    short = await other_client.post(path, data={**form, "password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 12" in short.text
    assert (await other_client.post(path, data=form)).status_code == 303
    await auth.sign_in(email, "a brand new passphrase", "10.0.0.2", settings)
    assert (await other_client.get(path)).status_code == 404  # used up
    assert (await other_client.post(path, data=form)).status_code == 404


async def test_a_reset_is_mailed_for_a_known_address_and_nothing_reveals_unknown_ones(client, clinic, settings,
                                                                                       mailbox):
    email = await _staff_email(clinic)
    known = await client.post("/password/forgot", data={"_csrf_token": await csrf_token(client), "email": email})
    unknown = await client.post("/password/forgot", data={"_csrf_token": await csrf_token(client),
                                                          "email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert "If an active account uses that address" in known.text and "If an active account" in unknown.text
    again = await client.post("/password/forgot", data={"_csrf_token": await csrf_token(client), "email": email})
    assert again.status_code == 200
    await factories.run_queued_jobs("default")  # the lookup and the mail happen in the worker
    await outbox.deliver_due(settings)
    assert len(mailbox.to(email)) == 1  # a second request within minutes sends nothing more
    assert mailbox.to("nobody@example.org") == []


async def test_an_expired_link_no_longer_works(client, clinic, settings, mailbox):
    from portal import staff_tokens

    await staff_tokens.request_reset(settings, await _staff_email(clinic))
    await outbox.deliver_due(settings)
    [message] = mailbox.to(await _staff_email(clinic))
    await StaffToken.update({StaffToken.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}, force=True)
    assert (await client.get(_path(message))).status_code == 404
