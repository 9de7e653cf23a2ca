"""The owner manages staff; other roles may not."""

import re

import pytest

from portal import staff
from portal.messaging import outbox
from portal.permissions import ROLE_PERMISSIONS, Permission, Role
from portal.tables import AuditEntry, Staff
from tests import factories
from tests.factories import csrf_token, post_form, sign_in, sign_in_as
from tests.mail_sink import body_text


async def test_owner_invites_a_receptionist_who_chooses_her_own_password(client, other_client, clinic, settings,
                                                                          mailbox):
    await sign_in_as(client, clinic)
    form = await client.get("/staff/new")
    assert 'name="password"' not in form.text  # the owner never types a colleague's password
    response = await post_form(client, "/staff", {"name": "Rita Reception", "email": "Rita@Canal.test",
                                                  "role": "receptionist", "password": "owner typed this",
                                                  "registration_body": "", "registration_number": "",
                                                  "active": "on"})
    assert response.status_code == 303 and response.headers["location"].endswith("?invited=1")
    assert "Invited, no password yet" in (await client.get("/staff")).text
    assert (await sign_in(other_client, "rita@canal.test", "owner typed this")).status_code != 303
    assert (await sign_in(other_client, "rita@canal.test", "")).status_code != 303
    await outbox.deliver_due(settings)
    [message] = mailbox.to("rita@canal.test")
    path = "/password/" + re.search(r"/password/(\S+)", body_text(message)).group(1)
    chosen = {"_csrf_token": await csrf_token(other_client), "password": "rita's own passphrase",
              "password_again": "rita's own passphrase"}
    assert (await other_client.post(path, data=chosen)).status_code == 303
    assert (await sign_in(other_client, "rita@canal.test", "rita's own passphrase")).status_code == 303
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.created")
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.invited")
    assert "Active" in (await client.get("/staff")).text


async def test_a_dentist_without_a_registration_number_is_flagged_on_the_staff_list(client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Nonumber")
    await Staff.update({Staff.registration_number: ""}).where(Staff.id == dentist.id)
    await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    await sign_in_as(client, clinic)
    page = (await client.get("/staff")).text
    assert page.count("Missing: cannot sign clinical entries") == 1
    assert "Dr. Nonumber" in page.split("Missing: cannot sign")[0].rsplit("<tr>", 1)[1]


async def test_bad_staff_form_is_shown_again_with_messages_and_saves_nothing(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/staff", {"name": "", "email": "not-an-email", "role": "janitor"})
    assert response.status_code == 422
    for message in ("Name is required.", "Enter an email address like", "Choose a role."):
        assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert await Staff.count() == 1


async def test_two_accounts_cannot_share_an_email(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/staff", {"name": "Copy", "email": "owner@canal-dental.test",
                                                  "role": "dentist", "password": "long enough password"})
    assert response.status_code == 422
    assert "Another staff account already uses this email." in response.text


async def test_owner_cannot_demote_or_deactivate_themselves(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, f"/staff/{clinic.id}", {"name": "Me", "email": "owner@canal-dental.test",
                                                               "role": "dentist", "active": "on"})
    assert response.status_code == 422
    assert (await Staff.select(Staff.role).where(Staff.id == clinic.id).first())["role"] == "owner"


async def test_role_change_takes_effect_at_once(client, other_client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await sign_in_as(other_client, dentist)
    await sign_in_as(client, clinic)
    await post_form(client, f"/staff/{dentist.id}", {"name": "Demoted", "email": await factories.email_of(dentist),
                                                     "role": "receptionist", "active": "on"})
    assert (await other_client.get("/")).status_code == 303  # old session ended
    await sign_in_as(other_client, dentist)
    assert (await Staff.select(Staff.role).where(Staff.id == dentist.id).first())["role"] == "receptionist"


@pytest.mark.parametrize("role", [Role.DENTIST, Role.HYGIENIST, Role.RECEPTIONIST])
async def test_only_the_owner_opens_staff_management(client, clinic, role):
    member = await factories.make_staff(clinic, role)
    await sign_in_as(client, member)
    response = await client.get("/staff")
    assert response.status_code == 403
    assert "You cannot open this page" in response.text
    assert 'href="/staff"' not in (await client.get("/")).text


def test_receptionist_never_reads_clinical_notes_or_images():
    granted = ROLE_PERMISSIONS[Role.RECEPTIONIST]
    assert Permission.READ_CLINICAL not in granted and Permission.READ_IMAGES not in granted
    assert {Permission.MANAGE_CALENDAR, Permission.EDIT_DEMOGRAPHICS} <= granted


async def test_reading_staff_records_is_audited(client, clinic):
    await sign_in_as(client, clinic)
    await client.get("/staff")
    await client.get(f"/staff/{clinic.id}")
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.listed")
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.viewed")


async def test_a_deleted_account_stops_at_once_and_the_worker_erases_the_person_but_not_what_they_signed(
        client, other_client, clinic, settings):
    from portal.operations import housekeeping
    from portal.tables import ClinicalNote, LoginAttempt, OutboxMessage, WebSession

    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Anna Bakker")
    email = (await Staff.select(Staff.email).where(Staff.id == dentist.id).first())["email"]
    registration = (await Staff.select(Staff.registration_number).where(Staff.id == dentist.id).first())[
        "registration_number"]
    patient_id = await factories.make_patient(clinic)
    records = await factories.make_chart_records(clinic, dentist, patient_id)
    await sign_in(other_client, email, "not the password")  # a failed attempt keeps the address for a while
    await sign_in_as(other_client, dentist)
    # Only the owner deletes, and never their own account.
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    assert (await post_form(client, f"/staff/{dentist.id}/delete")).status_code == 403
    client.cookies.clear()
    await sign_in_as(client, clinic)
    own = await post_form(client, f"/staff/{clinic.id}/delete")
    assert own.status_code == 422 and "cannot delete your own account" in own.text
    deleted = await post_form(client, f"/staff/{dentist.id}/delete")
    assert deleted.status_code == 303
    assert (await other_client.get("/patients")).status_code == 303  # their session ended at once
    assert (await sign_in(other_client, email)).status_code == 401
    assert "Deleted: their data is being erased" in (await client.get("/staff")).text
    # The worker's hourly housekeeping erases the person.
    assert (await housekeeping.purge(settings))["staff_erased"] == 1
    row = await Staff.select().where(Staff.id == dentist.id).first()
    assert "Anna" not in str(row) and email not in str(row) and registration not in str(row)
    assert row["erased_at"] is not None and not row["active"]
    for table in (LoginAttempt, OutboxMessage, WebSession):
        assert email not in str(await table.select()) and "Anna" not in str(await table.select())
    assert "Dr Anna Bakker" not in (await client.get("/staff")).text
    assert (await client.get(f"/staff/{dentist.id}")).status_code == 404
    # What they signed keeps the name and registration it was signed with.
    note = await ClinicalNote.select().where(ClinicalNote.id == records["note_id"]).first()
    assert note["author_name"] == "Dr Anna Bakker" and registration in note["author_credentials"]
    notes = await client.get(f"/patients/{patient_id}/notes")
    assert "Dr Anna Bakker" in notes.text and registration in notes.text
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.erased")
    assert (await housekeeping.purge(settings))["staff_erased"] == 0


def _member_form(name: str, address: str) -> dict:
    return {"name": name, "email": address, "role": "receptionist", "registration_body": "",
            "registration_number": "", "active": "on"}


async def test_one_person_works_at_two_clinics_and_the_inviting_owner_cannot_tell_the_address_existed(
        client, other_client, clinic, other_clinic, settings, mailbox):
    from tests.factories import email_of

    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Ada Vos")
    email = await email_of(dentist)
    harbour_patient = await factories.make_patient(other_clinic)
    await sign_in_as(client, other_clinic)
    new = await post_form(client, "/staff", _member_form("New Person", "new.person@elsewhere.test"))
    existing = await post_form(client, "/staff", _member_form("Ada Vos", email))
    # Same answer, same path: the owner of Harbour Smiles learns nothing about Canal Dental's staff.
    assert new.status_code == existing.status_code == 303
    assert re.sub(r"\d+", "N", new.headers["location"]) == re.sub(r"\d+", "N", existing.headers["location"])
    shown = (await client.get(existing.headers["location"])).text
    assert email in shown and "already" not in shown
    assert (await client.get("/staff")).text.count("Invited, no password yet") == 2
    await outbox.deliver_due(settings)
    [invitation] = mailbox.to(email)
    [other] = mailbox.to("new.person@elsewhere.test")
    assert invitation["Subject"] == other["Subject"]
    path = "/password/" + re.search(r"/password/(\S+)", body_text(invitation)).group(1)
    page = await other_client.get(path)
    assert "Join Harbour Smiles" in page.text and 'name="password"' not in page.text
    assert (await post_form(other_client, path)).status_code == 303
    assert (await other_client.get(path)).status_code == 404  # used once
    # One identity: the password she already had opens both clinics; the session carries the active one.
    other_client.cookies.clear()
    await sign_in_as(other_client, dentist)
    assert "Switch clinic" in (await other_client.get("/")).text
    assert (await other_client.get(f"/patients/{harbour_patient}")).status_code == 404
    listing = (await other_client.get("/account/clinics")).text
    assert "Canal Dental" in listing and "Harbour Smiles" in listing
    membership = (await Staff.select(Staff.id).where(
        (Staff.clinic == other_clinic.clinic_id) & (Staff.person == dentist.id)).first())["id"]
    stranger = (await Staff.select(Staff.id).where(Staff.email == "new.person@elsewhere.test").first())["id"]
    assert (await post_form(other_client, f"/account/clinics/{stranger}")).status_code == 404
    assert (await post_form(other_client, f"/account/clinics/{membership}")).status_code == 303
    assert "Harbour Smiles" in (await other_client.get("/")).text
    # The second factor is the person's: enrolling while acting for Harbour Smiles protects her one sign-in.
    from portal.tables import StaffTotp

    assert (await other_client.get("/account/two-factor")).status_code == 200
    assert await StaffTotp.exists().where(StaffTotp.staff == dentist.id)
    assert not await StaffTotp.exists().where(StaffTotp.staff == membership)
    assert (await other_client.get(f"/patients/{harbour_patient}")).status_code == 200
    assert (await other_client.get(f"/patients/{harbour_patient}/chart")).status_code == 403  # a receptionist here
    assert await AuditEntry.exists().where((AuditEntry.action == "auth.clinic_switched")
                                           & (AuditEntry.clinic_id == other_clinic.clinic_id))
    assert (await post_form(other_client, f"/account/clinics/{dentist.id}")).status_code == 303
    assert "Canal Dental" in (await other_client.get("/")).text
    # A new address waits for its holder, from either clinic (tests/security/test_staff_email_change.py).
    edit = {**_member_form("Ada Vos", "someone.else@elsewhere.test"), "language": ""}
    proposed = await post_form(client, f"/staff/{membership}", edit)
    assert proposed.status_code == 303
    assert "Pending change to someone.else@elsewhere.test" in (await client.get(f"/staff/{membership}")).text
    assert await staff.update_staff(clinic, dentist.id, staff.StaffForm(
        name="Dr Ada Vos", email="ada@new.test", role="dentist", registration_number="BIG-1", active=True)) \
        == "ada@new.test"
    assert (await Staff.select(Staff.email).where(Staff.id == membership).first())["email"] == email


async def test_a_password_reset_for_a_known_and_an_unknown_address_queues_the_same_work(client, clinic):
    from portal.tables import JobRun

    for address in ("owner@canal-dental.test", "nobody@nowhere.test"):
        await client.get("/password/forgot")
        answer = await client.post("/password/forgot", data={"_csrf_token": await csrf_token(client),
                                                             "email": address})
        assert answer.status_code == 200
    jobs = await JobRun.raw("SELECT task_name, args FROM procrastinate_jobs ORDER BY id")
    assert [j["task_name"] for j in jobs] == ["staff.password_reset", "staff.password_reset"]
