"""One person, several clinics (issue 13): editing a member's email never tells the editor whether the new address
signs in elsewhere; the change waits for the new address's holder, the old one is told; and a clinic that lets a
person go (deactivates or deletes them) takes only its own membership, never their sign-in at another clinic."""

import re
from datetime import datetime, timedelta, timezone

from portal import links, staff
from portal.memberships import clinics as memberships
from portal.messaging import outbox
from portal.operations import housekeeping
from portal.permissions import Role
from portal.tables import AuditEntry, LoginAttempt, OutboxMessage, Staff, StaffToken
from tests import factories
from tests.factories import email_of, post_form, sign_in, sign_in_as
from tests.mail_sink import body_text

LINK = re.compile(r"(https?://[^/\s]+)(/staff-email/[\w\-]+)")
UNKNOWN = "nobody.yet@elsewhere.test"


def _form(name: str, address: str, role: str = "receptionist", active: bool = True) -> dict:
    return {"name": name, "email": address, "role": role, "language": "", "registration_body": "",
            "registration_number": "BIG-1" if role == "dentist" else "", **({"active": "on"} if active else {})}


async def _two_clinic_dentist(clinic, other_clinic):
    """Dr Ada Vos began at Canal Dental and joined Harbour Smiles as a dentist too."""
    ada = await factories.make_staff(clinic, Role.DENTIST, name="Dr Ada Vos")
    harbour_id = await staff.create_staff(other_clinic, staff.StaffForm(
        name="Dr Ada Vos", email=await email_of(ada), role="dentist", registration_number="BIG-1", active=True))
    await memberships.join(harbour_id)
    return ada, harbour_id


def _same_page(text: str, *variable: str) -> str:
    for value in variable:
        text = text.replace(value, "VALUE")
    text = re.sub(r"[\w\-]{32,}", "TOKEN", text)  # masked CSRF tokens and CSP nonces differ on every page
    return re.sub(r"\d+", "N", text)


async def test_an_address_known_at_another_clinic_answers_exactly_like_an_unknown_one(client, clinic, other_clinic):
    ada = await factories.make_staff(clinic, Role.DENTIST, name="Dr Ada Vos")  # Canal's only
    known = await email_of(ada)
    rita = await factories.make_staff(other_clinic, Role.RECEPTIONIST, name="Sam Desk")
    bob = await factories.make_staff(other_clinic, Role.RECEPTIONIST, name="Sam Desk")
    await sign_in_as(client, other_clinic)
    answers, pages = {}, {}
    for member, address in ((rita, known), (bob, UNKNOWN)):
        answers[address] = await post_form(client, f"/staff/{member.id}", _form("Sam Desk", address))
        page = await client.get(f"/staff/{member.id}")
        pages[address] = _same_page(page.text, address, await email_of(member))
    assert answers[known].status_code == answers[UNKNOWN].status_code == 303
    assert answers[known].headers["location"] == answers[UNKNOWN].headers["location"]
    assert "already" not in answers[known].text and "Pending change to" in pages[known]
    assert pages[known] == pages[UNKNOWN]
    # The same work queued for both: one mail to the new address, one notice to the old one, same subjects.
    for address in (known, UNKNOWN):
        assert await OutboxMessage.count().where(OutboxMessage.recipient == address) == 1
    subjects = [r["subject"] for r in await OutboxMessage.select(OutboxMessage.subject).where(
        OutboxMessage.recipient.is_in([known, UNKNOWN]))]
    assert subjects[0] == subjects[1]
    # Nothing changed yet: both keep their addresses and sign in with them; the known address is still Ada's alone.
    assert await Staff.count().where(Staff.email == known) == 1
    listing = (await client.get("/staff")).text
    assert listing.count("waiting for confirmation") == 2


async def test_the_new_address_confirms_through_the_mailed_link_and_the_old_one_is_told(
        client, other_client, clinic, settings, mailbox):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Jan Smit")
    old = await email_of(dentist)
    await sign_in_as(client, clinic)
    assert (await post_form(client, f"/staff/{dentist.id}", _form("Dr Jan Smit", "Jan@New.test", "dentist"))
            ).status_code == 303
    assert "Pending change to jan@new.test, waiting for confirmation" in (await client.get(
        f"/staff/{dentist.id}")).text
    await outbox.deliver_due(settings)
    [confirm] = mailbox.to("jan@new.test")
    [notice] = mailbox.to(old)
    base, path = LINK.search(body_text(confirm)).groups()
    assert base == links.public_base(settings).rstrip("/")  # never the request's Host
    assert "jan@new.test" not in body_text(notice) and "j•••@new.test" in body_text(notice)
    assert LINK.search(body_text(notice)).group(2) != path
    # Until confirmed, the old address signs in and the new one does not.
    assert (await sign_in(other_client, "jan@new.test")).status_code == 401
    other_client.cookies.clear()
    page = await other_client.get(path)  # a mail scanner's fetch changes nothing
    assert page.status_code == 200 and "Yes, this address is mine" in page.text
    done = await post_form(other_client, path)
    assert done.status_code == 303 and done.headers["location"] == "/staff-email/done"
    assert (await other_client.get(path)).status_code == 404  # single use
    assert (await post_form(other_client, path)).status_code == 404
    assert (await sign_in(other_client, old)).status_code == 401
    other_client.cookies.clear()
    assert (await sign_in(other_client, "jan@new.test")).status_code == 303
    shown = (await client.get("/staff")).text
    assert "jan@new.test" in shown and "waiting for confirmation" not in shown
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.email_changed")


async def test_an_address_that_signs_in_elsewhere_takes_the_membership_when_its_holder_confirms(
        client, other_client, clinic, other_clinic, settings, mailbox):
    ada = await factories.make_staff(clinic, Role.DENTIST, name="Dr Ada Vos")
    known = await email_of(ada)
    rita = await factories.make_staff(other_clinic, Role.RECEPTIONIST, name="Rita Desk")
    rita_email = await email_of(rita)
    await sign_in_as(client, other_clinic)
    await post_form(client, f"/staff/{rita.id}", _form("Rita Desk", known))
    await outbox.deliver_due(settings)
    path = LINK.search(body_text(mailbox.to(known)[0])).group(2)
    assert (await post_form(other_client, path)).status_code == 303
    row = await Staff.select(Staff.person, Staff.email, Staff.joined_at).where(Staff.id == rita.id).first()
    assert row["person"] == ada.id and row["email"] == known and row["joined_at"] is not None
    # One identity: Ada's own password opens Canal and the Harbour row that was Rita's.
    assert (await sign_in(other_client, rita_email)).status_code == 401
    other_client.cookies.clear()
    await sign_in_as(other_client, ada)
    assert (await post_form(other_client, f"/account/clinics/{rita.id}")).status_code == 303
    assert "Harbour Smiles" in (await other_client.get("/")).text


async def test_forged_expired_reused_cancelled_and_reported_links_change_nothing(
        client, other_client, clinic, settings, mailbox):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Jan Smit")
    old = await email_of(dentist)
    await sign_in_as(client, clinic)

    async def propose(address):
        mailbox.clear()
        await post_form(client, f"/staff/{dentist.id}", _form("Dr Jan Smit", address, "dentist"))
        await outbox.deliver_due(settings)
        return (LINK.search(body_text(mailbox.to(address)[0])).group(2),
                LINK.search(body_text(mailbox.to(old)[0])).group(2))

    for forged in ("/staff-email/not-a-real-token", "/staff-email/" + "A" * 43):
        assert (await other_client.get(forged)).status_code == 404
        assert (await post_form(other_client, forged)).status_code == 404
    # Expired.
    confirm, _ = await propose("first@new.test")
    await StaffToken.update({StaffToken.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
        StaffToken.purpose == "email_change")
    assert (await post_form(other_client, confirm)).status_code == 404
    # A later change replaces the earlier one; the owner cancels it: both its links stop.
    first, _ = await propose("second@new.test")
    confirm, report = await propose("third@new.test")
    assert (await post_form(other_client, first)).status_code == 404
    assert (await post_form(client, f"/staff/{dentist.id}/email-change/cancel")).status_code == 303
    assert "waiting for confirmation" not in (await client.get(f"/staff/{dentist.id}")).text
    for path in (confirm, report):
        assert (await other_client.get(path)).status_code == 404
    # The old address reports a change it did not ask for: the change stops, the clinic sees the report.
    confirm, report = await propose("fourth@new.test")
    assert "f•••@new.test" in (await other_client.get(report)).text
    assert (await post_form(other_client, report)).status_code == 303
    assert (await post_form(other_client, confirm)).status_code == 404
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.email_change_reported")
    # A change link is no password link (and the reverse).
    confirm, _ = await propose("fifth@new.test")
    token = confirm.rsplit("/", 1)[1]
    assert (await other_client.get(f"/password/{token}")).status_code == 404
    assert (await post_form(other_client, f"/password/{token}", {"password": "x" * 20,
                                                                  "password_again": "x" * 20})).status_code == 404
    assert await Staff.count().where(Staff.email == old) == 1
    other_client.cookies.clear()
    assert (await sign_in(other_client, old)).status_code == 303


async def test_letting_a_person_go_at_one_clinic_leaves_their_sign_in_at_the_other(
        client, other_client, clinic, other_clinic, settings):
    ada, harbour_id = await _two_clinic_dentist(clinic, other_clinic)
    email = await email_of(ada)
    await sign_in_as(client, clinic)
    # Canal deactivates her: she still signs in, and works at Harbour Smiles.
    assert (await post_form(client, f"/staff/{ada.id}", _form("Dr Ada Vos", email, "dentist", active=False))
            ).status_code == 303
    await sign_in_as(other_client, ada)
    assert "Harbour Smiles" in (await other_client.get("/")).text
    listing = (await other_client.get("/account/clinics")).text
    assert "Harbour Smiles" in listing and "Canal Dental" not in listing
    # Canal takes her back: both clinics again, one password.
    await post_form(client, f"/staff/{ada.id}", _form("Dr Ada Vos", email, "dentist"))
    other_client.cookies.clear()
    await sign_in_as(other_client, ada)
    listing = (await other_client.get("/account/clinics")).text
    assert "Harbour Smiles" in listing and "Canal Dental" in listing
    assert (await post_form(other_client, f"/account/clinics/{harbour_id}")).status_code == 303
    # Canal deletes her while she works at Harbour: her session there carries on; the worker erases Canal's row.
    assert (await post_form(client, f"/staff/{ada.id}/delete")).status_code == 303
    assert "Harbour Smiles" in (await other_client.get("/")).text
    assert (await other_client.get("/account/clinics")).status_code == 200
    assert (await housekeeping.purge(settings))["staff_erased"] == 1
    erased = await Staff.select(Staff.email, Staff.erased_at).where(Staff.id == ada.id).first()
    assert erased["erased_at"] is not None and email not in erased["email"]
    other_client.cookies.clear()
    assert (await sign_in(other_client, email)).status_code == 303
    assert "Harbour Smiles" in (await other_client.get("/")).text
    assert (await client.get("/staff")).text.count("Dr Ada Vos") == 0
    # Her last clinic lets her go: now the person is erased, sign-in data and all.
    await sign_in_as(client, other_clinic)
    assert (await post_form(client, f"/staff/{harbour_id}/delete")).status_code == 303
    assert (await housekeeping.purge(settings))["staff_erased"] == 1
    assert not await Staff.exists().where(Staff.email == email)
    assert not await LoginAttempt.exists().where(LoginAttempt.email == email)
    other_client.cookies.clear()
    assert (await sign_in(other_client, email)).status_code == 401


async def test_a_membership_deleted_or_deactivated_elsewhere_leaves_the_home_clinic_alone(
        client, other_client, clinic, other_clinic, settings):
    ada, harbour_id = await _two_clinic_dentist(clinic, other_clinic)
    email = await email_of(ada)
    await sign_in_as(client, other_clinic)
    await post_form(client, f"/staff/{harbour_id}", _form("Dr Ada Vos", email, "dentist", active=False))
    await sign_in_as(other_client, ada)
    assert "Harbour Smiles" not in (await other_client.get("/account/clinics")).text
    assert (await post_form(client, f"/staff/{harbour_id}/delete")).status_code == 303
    assert (await housekeeping.purge(settings))["staff_erased"] == 1
    assert (await Staff.select(Staff.email, Staff.active).where(Staff.id == ada.id).first()) == {
        "email": email, "active": True}
    other_client.cookies.clear()
    assert (await sign_in(other_client, email)).status_code == 303
    assert "Canal Dental" in (await other_client.get("/")).text


async def test_a_member_changes_their_own_address_with_the_same_answer_for_every_address(
        client, other_client, clinic, other_clinic, settings, mailbox):
    ada = await factories.make_staff(other_clinic, Role.DENTIST, name="Dr Ada Vos")  # known at Harbour only
    known = await email_of(ada)
    pages = {}
    for typed, http in ((known, client), ("Fresh@Start.test", other_client)):
        desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Sam Desk")
        await sign_in_as(http, desk)
        assert "My sign-in address" in (await http.get("/")).text
        answer = await post_form(http, "/account/email", {"email": typed})
        assert answer.status_code == 303 and answer.headers["location"] == "/account/email"
        page = await http.get("/account/email")
        pages[typed] = _same_page(page.text, typed.lower(), await email_of(desk))
        assert "Pending change to" in page.text
    assert pages[known] == pages["Fresh@Start.test"]
    refused = await post_form(other_client, "/account/email", {"email": "not an address"})
    assert refused.status_code == 422 and 'value="not an address"' in refused.text
    await outbox.deliver_due(settings)
    path = LINK.search(body_text(mailbox.to("fresh@start.test")[0])).group(2)
    assert (await post_form(other_client, path)).status_code == 303
    other_client.cookies.clear()
    assert (await sign_in(other_client, "fresh@start.test")).status_code == 303
    assert "waiting for confirmation" not in (await other_client.get("/account/email")).text
    # The one who typed Ada's address cancels: Ada's link stops working.
    assert (await post_form(client, "/account/email/cancel")).status_code == 303
    path = LINK.search(body_text(mailbox.to(known)[0])).group(2)
    assert (await other_client.get(path)).status_code == 404


async def test_erasing_an_account_leaves_no_mail_to_the_address_it_was_moving_to(client, clinic, settings):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Jan Smit")
    await sign_in_as(client, clinic)
    await post_form(client, f"/staff/{dentist.id}", _form("Dr Jan Smit", "never.confirmed@new.test", "dentist"))
    assert await OutboxMessage.exists().where(OutboxMessage.recipient == "never.confirmed@new.test")
    assert (await post_form(client, f"/staff/{dentist.id}/delete")).status_code == 303
    assert (await housekeeping.purge(settings))["staff_erased"] == 1
    assert "Jan Smit" not in str(await OutboxMessage.select())
    assert not await StaffToken.exists().where(StaffToken.staff == dentist.id)


async def _confirm(http, mailbox, settings, address):
    await outbox.deliver_due(settings)
    return await post_form(http, LINK.search(body_text(mailbox.to(address)[-1])).group(2))


async def test_an_owner_moves_only_their_own_clinics_membership_never_the_persons_other_clinics(
        client, other_client, clinic, other_clinic, settings, mailbox):
    ada, harbour_id = await _two_clinic_dentist(clinic, other_clinic)
    email = await email_of(ada)
    third = await factories.make_clinic("Third Practice")
    mallory = await factories.make_staff(third, Role.DENTIST, name="Mallory")
    # Canal, where her sign-in began, gives her row an address nobody signs in with: it becomes a sign-in of its
    # own (its holder chooses a password); Ada keeps her address, password and Harbour Smiles.
    await sign_in_as(client, clinic)
    await post_form(client, f"/staff/{ada.id}", _form("Dr Ada Vos", "taken.over@evil.test", "dentist"))
    confirmed = await _confirm(other_client, mailbox, settings, "taken.over@evil.test")
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/password/")
    chosen = {"password": "the new holder's own", "password_again": "the new holder's own"}
    assert (await post_form(other_client, confirmed.headers["location"], chosen)).status_code == 303
    other_client.cookies.clear()
    assert (await sign_in(other_client, "taken.over@evil.test", "the new holder's own")).status_code == 303
    assert "Harbour Smiles" not in (await other_client.get("/account/clinics")).text
    other_client.cookies.clear()
    assert (await sign_in(other_client, email)).status_code == 303  # her own address and password, at Harbour
    assert "Harbour Smiles" in (await other_client.get("/")).text
    assert (await Staff.select(Staff.email).where(Staff.id == harbour_id).first())["email"] == email
    # Harbour gives her membership the address Mallory signs in with: Mallory gains Harbour, never Canal.
    client.cookies.clear()
    await sign_in_as(client, other_clinic)
    await post_form(client, f"/staff/{harbour_id}", _form("Dr Ada Vos", await email_of(mallory), "dentist"))
    other_client.cookies.clear()
    assert (await _confirm(other_client, mailbox, settings, await email_of(mallory))).status_code == 303
    await sign_in_as(other_client, mallory)
    listing = (await other_client.get("/account/clinics")).text
    assert "Harbour Smiles" in listing and "Canal Dental" not in listing
    # Ada, whose last clinic took her membership elsewhere, signs in to nothing; Canal's new holder is untouched.
    other_client.cookies.clear()
    assert (await sign_in(other_client, email)).status_code == 401
